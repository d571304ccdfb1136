using OpenTE.Grid.Matpower;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Tests;

/// <summary>Locates ../shared/cases and ../shared/reference beside the repository.</summary>
public static class TestData
{
    private static readonly Lazy<string> SharedDir = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "cases");
            if (Directory.Exists(candidate)) return Path.Combine(dir.FullName, "shared");
            var sibling = Path.Combine(dir.FullName, "..", "shared", "cases");
            if (Directory.Exists(sibling) && File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
            dir = dir.Parent;
        }
        throw new DirectoryNotFoundException("../shared/cases not found beside the repository");
    });

    public static string Case(string name) => Path.Combine(SharedDir.Value, "cases", name + ".m");
    public static string Reference(string name) => Path.Combine(SharedDir.Value, "reference", name + ".json");

    public static readonly string[] AllCases = ["case5", "case9", "case14", "case30", "case33bw", "case118", "case300", "case_ACTIVSg2000"];

    public static TheoryData<string> Cases() => new(AllCases);

    private static readonly Dictionary<string, Network> Cache = [];

    public static Network Load(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var net)) Cache[name] = net = MatpowerCase.Read(Case(name)).Network;
            return net;
        }
    }
}
