using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenTE.Grid.Tests;

/// <summary>MATPOWER's own results for the shared cases (../shared/reference/*.json).</summary>
public sealed class ReferenceResults
{
    [JsonPropertyName("case")] public string Case { get; init; } = "";
    [JsonPropertyName("nbus")] public int NBus { get; init; }
    [JsonPropertyName("nbranch")] public int NBranch { get; init; }
    [JsonPropertyName("ngen")] public int NGen { get; init; }
    [JsonPropertyName("pf")] public RefSolution Pf { get; init; } = new();
    [JsonPropertyName("dcopf")] public RefSolution DcOpf { get; init; } = new();
    [JsonPropertyName("acopf")] public RefSolution AcOpf { get; init; } = new();

    private static readonly Dictionary<string, ReferenceResults> Cache = [];

    public static ReferenceResults Load(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var r))
                Cache[name] = r = JsonSerializer.Deserialize<ReferenceResults>(File.ReadAllText(TestData.Reference(name)))!;
            return r;
        }
    }
}

public sealed class RefSolution
{
    [JsonPropertyName("converged")] public bool Converged { get; init; }
    [JsonPropertyName("success")] public bool Success { get; init; }
    [JsonPropertyName("iterations")] public int Iterations { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("objective")] public double Objective { get; init; }
    [JsonPropertyName("buses")] public List<RefBus> Buses { get; init; } = [];
    [JsonPropertyName("generators")] public List<RefGen> Generators { get; init; } = [];
    [JsonPropertyName("branches")] public List<RefBranch> Branches { get; init; } = [];
}

public sealed class RefBus
{
    [JsonPropertyName("id")] public int Id { get; init; }
    [JsonPropertyName("vm")] public double Vm { get; init; }
    [JsonPropertyName("vaDeg")] public double VaDeg { get; init; }
    [JsonPropertyName("lmp")] public double Lmp { get; init; }
    [JsonPropertyName("lmpQ")] public double LmpQ { get; init; }
    [JsonPropertyName("muVmax")] public double MuVmax { get; init; }
    [JsonPropertyName("muVmin")] public double MuVmin { get; init; }
}

public sealed class RefGen
{
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("bus")] public int Bus { get; init; }
    [JsonPropertyName("pg")] public double Pg { get; init; }
    [JsonPropertyName("qg")] public double Qg { get; init; }
    [JsonPropertyName("status")] public int Status { get; init; }
}

public sealed class RefBranch
{
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("from")] public int From { get; init; }
    [JsonPropertyName("to")] public int To { get; init; }
    [JsonPropertyName("pf")] public double Pf { get; init; }
    [JsonPropertyName("pt")] public double Pt { get; init; }
    [JsonPropertyName("qf")] public double Qf { get; init; }
    [JsonPropertyName("qt")] public double Qt { get; init; }
    [JsonPropertyName("muSf")] public double MuSf { get; init; }
    [JsonPropertyName("muSt")] public double MuSt { get; init; }
    [JsonPropertyName("rateA")] public double RateA { get; init; }
}
