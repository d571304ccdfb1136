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
    string Status,
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
        string status = r.Status switch
        {
            SolverStatus.Optimal => "optimal",
            SolverStatus.Infeasible => "infeasible",
            SolverStatus.Unbounded => "unbounded",
            SolverStatus.NotConverged => "not-converged",
            _ => "error",
        };
        var messages = new List<string> { (o.Backend == AcOpfBackend.Ipopt ? "" : "IPM: ") + r.Message };
        bool ok = status == "optimal";
        double baseMva = net.BaseMva;
        var x = r.X;
        int nb = net.BusCount;
        double Num(double v) => ok ? v : double.NaN; // prices of a failed solve are never presented

        var buses = new AcOpfBus[nb];
        for (int i = 0; i < nb; i++)
        {
            int rp = program.BalanceP[i], rq = program.BalanceQ[i];
            buses[i] = new AcOpfBus(net.Buses[i].Id, x[program.VmVar(i)], x[program.ThetaVar(i)] * 180 / Math.PI,
                rp >= 0 ? Num(r.Lambda[rp] / baseMva) : double.NaN,
                rq >= 0 ? Num(r.Lambda[rq] / baseMva) : double.NaN,
                Num(r.MuUpper[program.VmVar(i)]), Num(r.MuLower[program.VmVar(i)]));
        }
        var gens = new AcOpfGenerator[net.Generators.Length];
        for (int g = 0; g < gens.Length; g++)
        {
            var gen = net.Generators[g];
            int pv = program.PgVar[g], qv = program.QgVar[g];
            gens[g] = pv < 0
                ? new AcOpfGenerator(g + 1, gen.Bus, 0, 0, false, 0, 0, 0, 0)
                : new AcOpfGenerator(g + 1, gen.Bus, x[pv] * baseMva, x[qv] * baseMva, true,
                    Num(r.MuUpper[pv] / baseMva), Num(r.MuLower[pv] / baseMva), Num(r.MuUpper[qv] / baseMva), Num(r.MuLower[qv] / baseMva));
        }
        var muSf = new double[net.Branches.Length];
        var muSt = new double[net.Branches.Length];
        for (int k = 0; k < program.FlowLimited.Length; k++)
        {
            int l = program.FlowLimited[k];
            // h = |S|² − rate² in p.u.²: ∂cost/∂rate(MVA) = 2·μ·rate(p.u.)/baseMVA
            double rate = net.Branches[l].RateA / baseMva;
            muSf[l] = 2 * r.Mu[program.FlowRowFrom(k)] * rate / baseMva;
            muSt[l] = 2 * r.Mu[program.FlowRowTo(k)] * rate / baseMva;
        }
        var branches = new AcOpfBranch[net.Branches.Length];
        for (int l = 0; l < branches.Length; l++)
        {
            var br = net.Branches[l];
            var (pf, qf, pt, qt) = program.Flows(x, l);
            branches[l] = new AcOpfBranch(l + 1, br.From, br.To, pf * baseMva, qf * baseMva, pt * baseMva, qt * baseMva, br.RateA, Num(muSf[l]), Num(muSt[l]));
        }
        if (!ok)
        {
            messages.Add("no optimal solution: the last iterate is not a dispatch and prices are not reported");
            try
            {
                messages.AddRange(OpenTE.Market.DcOpf.DcOpfResult.Diagnose(net, new OpenTE.Grid.PowerFlow.DcNetwork(net), new OpenTE.Market.DcOpf.DcOpfOptions()));
            }
            catch (OpenTE.Grid.InputException) { } // no DC model of this network (a branch without reactance): no diagnosis
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
            double q = program.DerQ(x, d) * baseMva, lq = buses[net.BusIndex[der.Bus]].LmpQ;
            ders.Add(new DerDispatch(der.Id, der.Bus, der.PMw, q, Math.Sqrt(Math.Max(0, der.SMva * der.SMva - der.PMw * der.PMw)), lq, Num(lq * q)));
        }
        return new AcOpfResult(net.Name, status, ok ? r.Objective : double.NaN, sw.Elapsed.TotalSeconds, r.Iterations, buses, gens, branches, messages)
        {
            Ders = ders,
        };
    }
}
