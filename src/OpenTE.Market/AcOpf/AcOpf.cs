using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.AcOpf;

public enum AcOpfBackend
{
    /// <summary>Our interior point (<see cref="InteriorPoint"/>), always available.</summary>
    Managed,
    /// <summary>COIN-OR Ipopt through P/Invoke, when libipopt is installed (<see cref="Ipopt.IsAvailable"/>).</summary>
    Ipopt,
    /// <summary>
    /// Our interior point; when it does not reach "optimal" and libipopt is installed, Ipopt on the same formulation,
    /// said in the messages (the CLI's <c>--solver auto</c>: no dead end on a grid Ipopt solves — PGLib's RTE grids).
    /// </summary>
    Auto,
}

public sealed record AcOpfOptions
{
    public AcOpfBackend Backend { get; init; } = AcOpfBackend.Managed;
    /// <summary>
    /// Interior-point settings. Default: MIPS's own iteration (no Mehrotra predictor–corrector: on this nonconvex
    /// problem it diverged on case300 with 0.01 MW more load at one bus, where plain MIPS steps converge in 21
    /// iterations), the objective scaled by 1e-4 inside the solver (as MATPOWER does for OPF), tolerances 1e-8.
    /// </summary>
    public InteriorPointOptions Solver { get; init; } = new() { CostScale = 1e-4, PredictorCorrector = false };
    /// <summary>Inverter-based DERs with reactive-power offers (their P is a negative load at their bus).</summary>
    public IReadOnlyList<Der> Ders { get; init; } = [];
}

/// <summary>
/// Bus result. <c>Lmp</c> ($/MWh) and <c>LmpQ</c> ($/MVArh) are the multipliers of the P and Q balance;
/// <c>MuVmax</c>/<c>MuVmin</c> ($/p.u./h) those of the voltage limits.
/// </summary>
public sealed record AcOpfBus(int Id, double Vm, double VaDeg, double Lmp, double LmpQ, double MuVmax, double MuVmin)
{
    /// <summary>λ_P = energy + loss + congestion + voltage and λ_Q = loss + congestion + voltage (docs/ac-opf.md).</summary>
    public PriceParts? Parts { get; init; }
}

public sealed record AcOpfGenerator(int Index, int Bus, double Pg, double Qg, bool InService, double MuPmax, double MuPmin, double MuQmax, double MuQmin);

/// <summary>Branch flows (MW, MVAr) at both ends and the shadow prices of the |S| limits ($/MVAh).</summary>
public sealed record AcOpfBranch(int Index, int From, int To, double Pf, double Qf, double Pt, double Qt, double RateA, double MuSf, double MuSt);

public sealed record AcOpfResult(
    string Case,
    ClearingStatus Status,
    double Objective,
    double SolveSeconds,
    int Iterations,
    IReadOnlyList<AcOpfBus> Buses,
    IReadOnlyList<AcOpfGenerator> Generators,
    IReadOnlyList<AcOpfBranch> Branches,
    IReadOnlyList<string> Messages)
{
    /// <summary>Active losses Σ(Pf + Pt) in MW.</summary>
    public double LossesMw => Branches.Sum(b => b.Pf + b.Pt);
    /// <summary>Which solver answered: "IPM" (ours) or "Ipopt" (chosen, or the fallback of <see cref="AcOpfBackend.Auto"/>).</summary>
    public string Solver { get; init; } = "IPM";
    /// <summary>DER reactive dispatch and payments (empty without DERs).</summary>
    public IReadOnlyList<DerDispatch> Ders { get; init; } = [];
}

/// <summary>AC optimal power flow (MATPOWER's <c>runopf</c> formulation) solved by the interior-point method.</summary>
public static class AcOpfSolver
{
    public static AcOpfResult Solve(Network net, AcOpfOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var o = options ?? new AcOpfOptions();
        var program = new AcOpfProgram(net, o.Ders);
        var r = o.Backend == AcOpfBackend.Ipopt ? Ipopt.Solve(program) : InteriorPoint.Solve(program, o.Solver);
        var messages = new List<string> { (o.Backend == AcOpfBackend.Ipopt ? "" : "IPM: ") + r.Message };
        string backend = o.Backend == AcOpfBackend.Ipopt ? "Ipopt" : "IPM";
        if (o.Backend == AcOpfBackend.Auto && r.Status != SolverStatus.Optimal && Ipopt.IsAvailable)
        {
            var fallback = Ipopt.Solve(program);
            messages.Add($"solver fallback: our interior point did not reach optimal → Ipopt: {fallback.Message}");
            if (fallback.Status == SolverStatus.Optimal || r.Status == SolverStatus.NotConverged)
            {
                r = fallback with { Iterations = r.Iterations + fallback.Iterations };
                backend = "Ipopt";
            }
        }
        var status = ClearingStatuses.From(r.Status);
        bool ok = status == ClearingStatus.Optimal;
        double baseMva = net.BaseMva;
        var x = r.X;
        int nb = net.BusCount;
        double Num(double v) => ok ? v : double.NaN; // prices of a failed solve are never presented
        // the solution read by block name: λP[i] = dual of balanceP at bus i, μSf[l] = dual of flowLimitFrom at branch l, …
        var s = new BlockSolution(program.Layout, r);

        var buses = new AcOpfBus[nb];
        for (int i = 0; i < nb; i++)
            buses[i] = new AcOpfBus(net.Buses[i].Id, s.Value("Vm", i), s.Value("Va", i) * 180 / Math.PI,
                Num(s.Dual("balanceP", i) / baseMva), Num(s.Dual("balanceQ", i) / baseMva), // NaN at an isolated bus
                Num(s.UpperBoundDual("Vm", i)), Num(s.LowerBoundDual("Vm", i)));
        var gens = new AcOpfGenerator[net.Generators.Length];
        for (int g = 0; g < gens.Length; g++)
        {
            var gen = net.Generators[g];
            gens[g] = !program.Pg.Has(g)
                ? new AcOpfGenerator(g + 1, gen.Bus, 0, 0, false, 0, 0, 0, 0)
                : new AcOpfGenerator(g + 1, gen.Bus, s.Value("Pg", g) * baseMva, s.Value("Qg", g) * baseMva, true,
                    Num(s.UpperBoundDual("Pg", g) / baseMva), Num(s.LowerBoundDual("Pg", g) / baseMva),
                    Num(s.UpperBoundDual("Qg", g) / baseMva), Num(s.LowerBoundDual("Qg", g) / baseMva));
        }
        // h = |S|² − rate² in p.u.²: ∂cost/∂rate(MVA) = 2·μ·rate(p.u.)/baseMVA; 0 on a branch without a limit
        double MuS(string limit, int l, double rate) => s.Has(limit, l) ? 2 * s.Dual(limit, l) * rate / baseMva : 0;
        var branches = new AcOpfBranch[net.Branches.Length];
        for (int l = 0; l < branches.Length; l++)
        {
            var br = net.Branches[l];
            var (pf, qf, pt, qt) = program.Flows(x, l);
            double rate = br.RateA / baseMva;
            branches[l] = new AcOpfBranch(l + 1, br.From, br.To, pf * baseMva, qf * baseMva, pt * baseMva, qt * baseMva, br.RateA,
                Num(MuS("flowLimitFrom", l, rate)), Num(MuS("flowLimitTo", l, rate)));
        }
        if (!ok)
        {
            messages.Add("no optimal solution: the last iterate is not a dispatch and prices are not reported");
            try
            {
                messages.AddRange(OpenTE.Market.DcOpf.DcOpfResult.Diagnose(net, new OpenTE.Grid.PowerFlow.DcNetwork(net), new OpenTE.Market.DcOpf.DcOpfOptions()));
            }
            catch (OpenTE.Grid.Input.InputException) { } // no DC model of this network (a branch without reactance): no diagnosis
            // the values of a failed solve may lie outside their bounds (issue #23: a generator at 60.9 MW against Pmax 40)
            for (int i = 0; i < nb; i++) buses[i] = buses[i] with { Vm = double.NaN, VaDeg = double.NaN };
            for (int g = 0; g < gens.Length; g++) gens[g] = gens[g] with { Pg = double.NaN, Qg = double.NaN };
            for (int l = 0; l < branches.Length; l++) branches[l] = branches[l] with { Pf = double.NaN, Qf = double.NaN, Pt = double.NaN, Qt = double.NaN };
        }
        else if (AcOpfPrices.Decompose(net, program, r, messages) is { } parts)
            for (int i = 0; i < nb; i++) buses[i] = buses[i] with { Parts = parts[i] };
        var ders = new List<DerDispatch>();
        for (int d = 0; d < o.Ders.Count; d++)
        {
            var der = o.Ders[d];
            double q = program.DerOutput(x, d) * baseMva, lq = buses[net.BusIndex[der.Bus]].LmpQ;
            ders.Add(new DerDispatch(der.Id, der.Bus, der.PMw, q, Math.Sqrt(Math.Max(0, der.SMva * der.SMva - der.PMw * der.PMw)), lq, Num(lq * q)));
        }
        return new AcOpfResult(net.Name, status, ok ? r.Objective : double.NaN, sw.Elapsed.TotalSeconds, r.Iterations, buses, gens, branches, messages)
        {
            Ders = ders,
            Solver = backend,
        };
    }
}
