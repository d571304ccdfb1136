#!/usr/bin/env bash
# Several Orleans silo processes on 127.0.0.1, clustered through PostgreSQL (ADO.NET clustering), and the P2P market
# run on them from a client process: the one-machine rehearsal of the many-machine deployment (docs/p2p.md).
#
#   scripts/p2p-silos-postgres.sh [SILOS] [SCENARIO] [-- extra p2p options]
#
# Database: OPENTE_CLUSTER_DB (an Npgsql connection string) if set; otherwise a throwaway PostgreSQL server is
# started in a temporary folder (scripts/pg-throwaway.sh; Debian package postgresql) and removed at the end.
# Every silo and the client are stopped by their pids when the script ends, also on Ctrl-C or failure.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SILOS=${1:-3}; SCENARIO=${2:-$here/examples/p2p-community.json}
shift $(( $# >= 2 ? 2 : $# )); [ "${1:-}" = "--" ] && shift
CLUSTER_ID=${OPENTE_CLUSTER_ID:-opente-$$}
work=$(mktemp -d /tmp/opente-silos.XXXXXX); chmod 755 "$work"
pids=(); pgdir=""
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$pgdir" ] && "$here/scripts/pg-throwaway.sh" stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${OPENTE_CLUSTER_DB:-}" ]; then
  CONN=$OPENTE_CLUSTER_DB
else
  pgdir=$work/pg
  CONN=$("$here/scripts/pg-throwaway.sh" start "$pgdir" "${OPENTE_PG_PORT:-54329}")
  echo "throwaway PostgreSQL: $CONN"
fi

dotnet build "$here/src/OpenTE.Cli" -c Release -v quiet -nologo >/dev/null
CLI=$here/src/OpenTE.Cli/bin/Release/net10.0/opente.dll

for i in $(seq 0 $((SILOS - 1))); do
  dotnet "$CLI" silo --cluster-db "$CONN" --cluster-id "$CLUSTER_ID" \
    --silo-port $((11111 + i)) --gateway-port $((30000 + i)) > "$work/silo$i.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 0 $((SILOS - 1))); do
  for _ in $(seq 1 120); do
    grep -q "silo up" "$work/silo$i.log" && break
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "silo $i exited:"; cat "$work/silo$i.log"; exit 1; }
    sleep 0.5
  done
  grep -q "silo up" "$work/silo$i.log" || { echo "silo $i did not come up in 60 s:"; cat "$work/silo$i.log"; exit 1; }
  echo "silo $i (pid ${pids[$i]}): $(grep 'silo up' "$work/silo$i.log")"
done

dotnet "$CLI" p2p "$SCENARIO" --engine orleans --cluster-db "$CONN" --cluster-id "$CLUSTER_ID" "$@"
