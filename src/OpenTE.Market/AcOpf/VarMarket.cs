using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;

namespace OpenTE.Market.AcOpf;

public sealed record VarMarketOptions
{
    /// <summary>Voltage band for every non-reference bus during the market (distribution practice: 0.95–1.05 p.u.); null keeps the case's limits.</summary>
    public (double Vmin, double Vmax)? VoltageBand { get; init; }
    public AcOpfOptions Opf { get; init; } = new();
}

/// <summary>Voltage at each bus without the market (DERs at unity power factor, a power flow) and with it (the AC OPF).</summary>
public sealed record VoltageProfile(int Bus, double VmWithout, double VmWith, double Vmin, double Vmax);

public sealed record VarMarketResult(AcOpfResult Market, PowerFlowResult Without, IReadOnlyList<VoltageProfile> Profile)
{
    public double TotalPayment => Market.Ders.Sum(d => d.Payment);
    public int ViolationsWithout => Profile.Count(p => p.VmWithout < p.Vmin - 1e-9 || p.VmWithout > p.Vmax + 1e-9);
    public int ViolationsWith => Profile.Count(p => p.VmWith < p.Vmin - 1e-6 || p.VmWith > p.Vmax + 1e-6);
}

/// <summary>
/// A local reactive-power market: DER inverters offer Q in blocks; the AC OPF dispatches them with the grid,
/// each at its bus's λ_Q, paid λ_Q × Q. The comparison is a power flow with the same DER active output and no
/// reactive support (unity power factor), which shows what the market fixes.
/// </summary>
public static class VarMarket
{
    public static VarMarketResult Run(Network net, IReadOnlyList<Der> ders, VarMarketOptions? options = null)
    {
        var o = options ?? new VarMarketOptions();
        var banded = o.VoltageBand is { } band
            ? net.With(buses: net.Buses.Select(b => b.Type == BusType.Ref ? b : b with { Vmin = band.Vmin, Vmax = band.Vmax }))
            : net;
        // without: DER output as negative load, no reactive power
        var pInj = new Dictionary<int, double>();
        foreach (var d in ders) pInj[d.Bus] = pInj.GetValueOrDefault(d.Bus) + d.PMw;
        var unity = banded.With(buses: banded.Buses.Select(b => pInj.TryGetValue(b.Id, out var p) ? b with { Pd = b.Pd - p } : b));
        var without = AcPowerFlow.Solve(unity);
        var market = AcOpfSolver.Solve(banded, o.Opf with { Ders = ders });
        var profile = banded.Buses.Select((b, i) => new VoltageProfile(b.Id, without.Buses[i].Vm, market.Buses[i].Vm, b.Vmin, b.Vmax)).ToList();
        return new VarMarketResult(market, without, profile);
    }
}
