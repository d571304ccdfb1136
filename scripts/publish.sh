#!/usr/bin/env bash
# Self-contained single-file `opente` for a machine without the .NET SDK.
#   scripts/publish.sh [RID] [OUTDIR]      RID defaults to linux-x64 (e.g. linux-arm64, osx-arm64, win-x64)
# Ahead-of-time compiled (ReadyToRun), native libraries (OR-Tools, SQLite, ...) inside the one file,
# extracted on first run to $DOTNET_BUNDLE_EXTRACT_BASE_DIR (default ~/.net). Output: OUTDIR/opente (default publish/RID/).
set -euo pipefail
rid="${1:-linux-x64}"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${2:-$root/publish/$rid}"
dotnet publish "$root/src/OpenTE.Cli/OpenTE.Cli.csproj" -c Release -r "$rid" --self-contained true \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:PublishReadyToRun=true \
  -p:DebugType=none -o "$out"
echo "published: $out/opente$([[ $rid == win-* ]] && echo .exe || true)"
echo "cases: run it inside a clone (it finds ../shared/cases upward from the current folder) or set OPENTE_CASES"
