using System.Collections.Immutable;

namespace OpenTE.Grid.Model;

/// <summary>MATPOWER bus types.</summary>
public enum BusType { PQ = 1, PV = 2, Ref = 3, Isolated = 4 }

/// <summary>
/// A bus in the units of the case file (MW, MVAr, degrees, kV, p.u. voltage).
/// <see cref="Extra"/> holds columns after the 13 standard ones (MATPOWER result columns
/// LAM_P, LAM_Q, MU_VMAX, MU_VMIN or user columns), kept for round trips.
/// </summary>
public sealed record Bus(
    int Id, BusType Type, double Pd, double Qd, double Gs, double Bs, int Area,
    double Vm, double VaDeg, double BaseKV, int Zone, double Vmax, double Vmin)
{
    public string? Name { get; init; }
    public ImmutableArray<double> Extra { get; init; } = ImmutableArray<double>.Empty;
}

/// <summary>A generator (MATPOWER gen row, 21 standard columns; missing optional columns read as 0).</summary>
public sealed record Generator(
    int Bus, double Pg, double Qg, double Qmax, double Qmin, double Vg, double MBase, int Status,
    double Pmax, double Pmin)
{
    public double Pc1 { get; init; }
    public double Pc2 { get; init; }
    public double Qc1Min { get; init; }
    public double Qc1Max { get; init; }
    public double Qc2Min { get; init; }
    public double Qc2Max { get; init; }
    /// <summary>Ramp rate for load following/AGC (MW/min).</summary>
    public double RampAgc { get; init; }
    /// <summary>Ramp rate for 10 minute reserves (MW).</summary>
    public double Ramp10 { get; init; }
    /// <summary>Ramp rate for 30 minute reserves (MW).</summary>
    public double Ramp30 { get; init; }
    /// <summary>Ramp rate for reactive power (MVAr/min).</summary>
    public double RampQ { get; init; }
    /// <summary>Area participation factor.</summary>
    public double Apf { get; init; }
    public ImmutableArray<double> Extra { get; init; } = ImmutableArray<double>.Empty;
    public bool InService => Status > 0;
}

/// <summary>A branch (line or transformer). Ratio 0 means a line (tap 1); AngleDeg is the phase shift.</summary>
public sealed record Branch(
    int From, int To, double R, double X, double B, double RateA, double RateB, double RateC,
    double Ratio, double AngleDeg, int Status, double AngMinDeg, double AngMaxDeg)
{
    public ImmutableArray<double> Extra { get; init; } = ImmutableArray<double>.Empty;
    public bool InService => Status > 0;
    /// <summary>The off-nominal tap ratio: <see cref="Ratio"/>, or 1 when the file has 0 (a line).</summary>
    public double Tap => Ratio == 0 ? 1.0 : Ratio;
}

public enum CostModel { PiecewiseLinear = 1, Polynomial = 2 }

/// <summary>
/// A generator cost row. For <see cref="CostModel.Polynomial"/> the coefficients are
/// c(n-1) … c1 c0 in $/h per MW^k (highest power first, as MATPOWER); for
/// <see cref="CostModel.PiecewiseLinear"/> they are x1 y1 … xn yn (MW, $/h).
/// <see cref="Padding"/> holds trailing columns of the row beyond the n used ones (zeros in rectangular files).
/// </summary>
public sealed record GenCost(CostModel Model, double Startup, double Shutdown, ImmutableArray<double> Coefficients)
{
    public ImmutableArray<double> Padding { get; init; } = ImmutableArray<double>.Empty;

    public int Points => Model == CostModel.PiecewiseLinear ? Coefficients.Length / 2 : Coefficients.Length;

    /// <summary>Cost in $/h at output p (MW).</summary>
    public double Evaluate(double p)
    {
        if (Model == CostModel.Polynomial)
        {
            double c = 0;
            // indexed (the ImmutableArray<double> enumerator is compiled by the JIT at its first call in a CLI process)
            for (int k = 0; k < Coefficients.Length; k++) c = c * p + Coefficients[k];
            return c;
        }
        int n = Points;
        if (n == 0) return 0;
        if (n == 1) return Coefficients[1];
        int seg = 0;
        while (seg < n - 2 && p > Coefficients[2 * (seg + 1)]) seg++;
        double x0 = Coefficients[2 * seg], y0 = Coefficients[2 * seg + 1];
        double x1 = Coefficients[2 * seg + 2], y1 = Coefficients[2 * seg + 3];
        return y0 + (y1 - y0) / (x1 - x0) * (p - x0);
    }
}

/// <summary>
/// The one immutable network model that flows through OpenTE (MATPOWER case semantics).
/// External bus numbers are kept for I/O; <see cref="BusIndex"/> maps them to dense internal indices
/// (the order of <see cref="Buses"/>).
/// </summary>
public sealed class Network
{
    public string Name { get; }
    public double BaseMva { get; }
    public ImmutableArray<Bus> Buses { get; }
    public ImmutableArray<Generator> Generators { get; }
    public ImmutableArray<Branch> Branches { get; }
    /// <summary>Either empty, one row per generator (active power), or 2·ngen rows (active then reactive).</summary>
    public ImmutableArray<GenCost> GenCosts { get; }
    /// <summary>Other cell arrays of the case file (e.g. gentype, genfuel), kept verbatim for round trips.</summary>
    public ImmutableDictionary<string, ImmutableArray<string>> CellArrays { get; }
    public IReadOnlyDictionary<int, int> BusIndex { get; }

    public Network(string name, double baseMva, IEnumerable<Bus> buses, IEnumerable<Generator> generators,
        IEnumerable<Branch> branches, IEnumerable<GenCost>? genCosts = null,
        IReadOnlyDictionary<string, ImmutableArray<string>>? cellArrays = null)
    {
        Name = name;
        BaseMva = baseMva;
        Buses = buses.ToImmutableArray();
        Generators = generators.ToImmutableArray();
        Branches = branches.ToImmutableArray();
        GenCosts = genCosts?.ToImmutableArray() ?? ImmutableArray<GenCost>.Empty;
        CellArrays = cellArrays?.ToImmutableDictionary() ?? ImmutableDictionary<string, ImmutableArray<string>>.Empty;
        var index = new Dictionary<int, int>(Buses.Length);
        for (int i = 0; i < Buses.Length; i++)
        {
            if (!index.TryAdd(Buses[i].Id, i))
                throw new ArgumentException($"duplicate bus number {Buses[i].Id}", nameof(buses));
        }
        BusIndex = index;
        foreach (var g in Generators)
            if (!index.ContainsKey(g.Bus)) throw new ArgumentException($"generator at unknown bus {g.Bus}", nameof(generators));
        foreach (var br in Branches)
            if (!index.ContainsKey(br.From) || !index.ContainsKey(br.To))
                throw new ArgumentException($"branch {br.From}-{br.To} refers to an unknown bus", nameof(branches));
    }

    public int BusCount => Buses.Length;

    private IReadOnlyList<Island>? _islands;
    /// <summary>The islands of the in-service network (<see cref="Topology.Islands"/>), computed once per network.</summary>
    public IReadOnlyList<Island> Islands => _islands ??= Topology.Islands(this);

    /// <summary>Internal index of the bus with external number <paramref name="busId"/>.</summary>
    public int IndexOf(int busId) => BusIndex[busId];

    public GenCost? ActiveCost(int generator) => GenCosts.Length >= Generators.Length && Generators.Length > 0 ? GenCosts[generator] : null;

    public Network With(IEnumerable<Bus>? buses = null, IEnumerable<Generator>? generators = null,
        IEnumerable<Branch>? branches = null, IEnumerable<GenCost>? genCosts = null, string? name = null) =>
        new(name ?? Name, BaseMva, buses ?? Buses, generators ?? Generators, branches ?? Branches, genCosts ?? GenCosts, CellArrays);

    public double TotalLoadMw => Buses.Sum(b => b.Pd);
    public double TotalLoadMvar => Buses.Sum(b => b.Qd);
}
