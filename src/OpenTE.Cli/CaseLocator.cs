using OpenTE.Grid;
using OpenTE.Grid.Json;
using OpenTE.Grid.Matpower;
using OpenTE.Grid.Input;

namespace OpenTE.Cli;

/// <summary>Resolves a CASE argument: a path to a .m or .json file, or a bare name looked up in ../shared/cases.</summary>
public static class CaseLocator
{
    public static CaseReadResult Load(string spec)
    {
        string path = Resolve(spec);
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? CaseJson.Read(path) : MatpowerCase.Read(path);
    }

    public static string Resolve(string spec)
    {
        if (File.Exists(spec)) return spec;
        if (spec.Contains('/') || spec.Contains('\\') || Path.HasExtension(spec))
            throw new CaseFormatException(spec, 0, "file not found", "check the path, or give a bare case name such as case30");
        foreach (var dir in CaseDirectories())
        {
            foreach (var ext in new[] { ".m", ".json" })
            {
                string p = Path.Combine(dir, spec + ext);
                if (File.Exists(p)) return p;
            }
        }
        throw new CaseFormatException(spec, 0, "no such case file or known case name",
            "give a path to a .m/.json file, or a name from ../shared/cases (set OPENTE_CASES to another folder)");
    }

    /// <summary>
    /// Where bare case names are looked up: OPENTE_CASES, then shared/cases or ../shared/cases in the current folder
    /// and every folder above it (so an installed `opente` finds the cases when run anywhere inside a clone), then
    /// the same upward from the binary's folder (the `dotnet run` build inside the clone).
    /// </summary>
    public static IEnumerable<string> CaseDirectories()
    {
        if (Environment.GetEnvironmentVariable("OPENTE_CASES") is { Length: > 0 } env) yield return env;
        foreach (var dir in CaseDirectoriesAbove(Directory.GetCurrentDirectory(), AppContext.BaseDirectory)) yield return dir;
    }

    /// <summary>shared/cases or ../shared/cases in each start folder and every folder above it, in that order.</summary>
    public static IEnumerable<string> CaseDirectoriesAbove(params string[] starts)
    {
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string a = Path.Combine(dir.FullName, "shared", "cases");
                if (Directory.Exists(a)) yield return a;
                string b = Path.Combine(dir.FullName, "..", "shared", "cases");
                if (Directory.Exists(b)) yield return Path.GetFullPath(b);
            }
        }
    }
}
