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

    public static string Shared(string relative) => Path.Combine(SharedDir.Value, relative);

    /// <summary>PGLib-OPF cases (../shared/cases/pglib) with at most <paramref name="maxBuses"/> buses, by size.</summary>
    public static TheoryData<string> PglibCases(int maxBuses)
    {
        var data = new TheoryData<string>();
        foreach (var (name, buses) in PglibBaseline.Value.Select(kv => (kv.Key, kv.Value.Buses)).OrderBy(t => t.Buses))
            if (buses <= maxBuses) data.Add(name);
        return data;
    }

    /// <summary>../shared/reference/pglib-baseline.csv: buses, DC and AC objectives of the published PowerModels run.</summary>
    public static readonly Lazy<Dictionary<string, (int Buses, double Dc, double Ac)>> PglibBaseline = new(() =>
        File.ReadLines(Path.Combine(SharedDir.Value, "reference", "pglib-baseline.csv")).Skip(1)
            .Select(l => l.Split(','))
            .ToDictionary(f => f[0], f => (int.Parse(f[1]), double.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture),
                double.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture))));

    public static Network LoadPglib(string name) => MatpowerCase.Read(Path.Combine(SharedDir.Value, "cases", "pglib", name + ".m")).Network;

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
