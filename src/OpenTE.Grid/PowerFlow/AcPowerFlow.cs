using System.Diagnostics;
using System.Numerics;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// Full AC power flow by Newton–Raphson in polar coordinates (as MATPOWER's newtonpf/runpf), on the
/// sparse Jacobian with symbolic reuse between iterations. Each island is solved with its own reference
/// bus; optional generator Q-limit enforcement switches PV buses to PQ and re-solves.
/// </summary>
public static class AcPowerFlow
{
    /// <summary>Q-limit violation tolerance in MVAr (MATPOWER opf.violation).</summary>
    private const double QViolation = 5e-6;

    public static PowerFlowResult Solve(Network net, PowerFlowOptions? options = null) => SolveWithState(net, options).Result;

    /// <summary>The power flow and its final state (voltages, bus types, admittances) for sensitivity studies.</summary>
    internal static (PowerFlowResult Result, PowerFlowState State, Admittance Admittance) SolveWithState(Network net, PowerFlowOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var opt = options ?? new PowerFlowOptions();
        var state = PowerFlowState.Create(net, opt.FlatStart);
        var messages = new List<string>(state.Messages);
        var adm = Admittance.Build(net);
        var solver = new NewtonRaphson(adm.Ybus);

        var limited = new List<int>();
        var fixedQg = new double[net.Generators.Length];
        int totalIterations = 0;
        bool converged;
        while (true)
        {
            var (ok, iterations) = solver.Solve(state.Sbus(), state.V, state.Pv(), state.Pq(), opt.Tolerance, opt.MaxIterations);
            totalIterations += iterations;
            if (!ok && limited.Count == 0 && DcStart(net, opt) is { } retry)
            {
                // the case's point (PGLib's cases are OPF data, not power-flow solutions) or a flat start may lie outside
                // Newton's basin: start again from the DC power flow's angles at the set-point magnitudes (pandapower's init="dc")
                string first = double.IsFinite(solver.LastMismatch) ? $"largest mismatch {solver.LastMismatch:E2} p.u." : "diverged";
                var (ok2, it2) = solver.Solve(retry.Sbus(), retry.V, retry.Pv(), retry.Pq(), opt.Tolerance, opt.MaxIterations);
                totalIterations += it2;
                if (ok2)
                {
                    messages.Add($"Newton's method did not converge from the {(opt.FlatStart ? "flat start" : "case's voltages")} ({first} after {opt.MaxIterations} iterations); it converged from the DC power flow's angles");
                    state = retry;
                    ok = true;
                }
            }
            converged = ok;
            if (!ok)
            {
                messages.Add(double.IsFinite(solver.LastMismatch)
                    ? $"Newton's method did not converge in {opt.MaxIterations} iterations (largest mismatch {solver.LastMismatch:E2} p.u. > {opt.Tolerance:E0})"
                    : $"Newton's method diverged (the mismatch grew beyond any finite value within {opt.MaxIterations} iterations): the case has no power-flow solution near its starting point");
                break;
            }
            if (!opt.EnforceQLimits) break;
            var (pg, qg) = state.GeneratorOutputs(adm.Ybus);
            var violating = new List<int>();
            for (int g = 0; g < qg.Length; g++)
            {
                if (!state.GenOn[g]) continue;
                var gen = net.Generators[g];
                if (qg[g] > gen.Qmax + QViolation) { fixedQg[g] = gen.Qmax; violating.Add(g); }
                else if (qg[g] < gen.Qmin - QViolation) { fixedQg[g] = gen.Qmin; violating.Add(g); }
            }
            if (violating.Count == 0) break;
            var remaining = Enumerable.Range(0, qg.Length).Where(g => state.GenOn[g] && state.IsVoltageControlled(g)).ToList();
            bool allSameSide = violating.All(g => fixedQg[g] == net.Generators[g].Qmax) || violating.All(g => fixedQg[g] == net.Generators[g].Qmin);
            if (violating.Count == remaining.Count && allSameSide)
            {
                messages.Add($"all {violating.Count} remaining voltage-controlling generators exceed their Q limits: the Q limits cannot be met");
                converged = false;
                break;
            }
            foreach (int g in violating)
            {
                var gen = net.Generators[g];
                messages.Add($"generator {g + 1} at bus {gen.Bus} reached Q{(fixedQg[g] == gen.Qmax ? "max" : "min")} = {fixedQg[g]:0.###} MVAr; bus {gen.Bus} is now PQ");
                state.FixGeneratorQ(g, pg[g], fixedQg[g]);
                limited.Add(g);
            }
            messages.AddRange(state.AssignBusTypes());
        }

        var result = state.Finish(adm, fixedQg, limited);
        sw.Stop();
        return (new PowerFlowResult(net.Name, converged, totalIterations, sw.Elapsed.TotalSeconds,
            result.Buses, result.Generators, result.Branches, messages)
        { FactorNonZeros = solver.FactorNonZeros }, state, adm);
    }
    /// <summary>A start at the set-point magnitudes and the DC power flow's angles; null when the DC model has no solution.</summary>
    private static PowerFlowState? DcStart(Network net, PowerFlowOptions opt)
    {
        try
        {
            var dc = DcPowerFlow.Solve(net);
            var start = PowerFlowState.Create(net, flatStart: true);
            for (int i = 0; i < start.V.Length; i++)
            {
                double va = dc.Buses[i].VaDeg * Math.PI / 180;
                if (double.IsFinite(va)) start.V[i] = Complex.FromPolarCoordinates(start.V[i].Magnitude, va);
            }
            return start;
        }
        catch (Exception e) when (e is Input.InputException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}

/// <summary>Bus types, injections and voltages of a power flow in progress (internal indices, p.u.).</summary>
internal sealed class PowerFlowState
{
    public Network Net { get; }
    public Complex[] V { get; }
    public bool[] GenOn { get; }
    public List<string> Messages { get; } = [];
    private readonly BusType[] _type;
    private readonly double[] _pd, _qd;
    private readonly bool[] _dead;
    private readonly double[] _pgSet, _qgSet;
    private readonly IReadOnlyList<Island> _islands;
    private readonly int[] _originalRef;
    private readonly double[] _originalRefAngle;

    private PowerFlowState(Network net)
    {
        Net = net;
        int nb = net.BusCount, ng = net.Generators.Length;
        V = new Complex[nb];
        // plain loops here and below: this runs in every cold power flow, and generic LINQ over the model's records is
        // compiled by the JIT at start-up even in a ReadyToRun build
        _type = new BusType[nb];
        _pd = new double[nb];
        _qd = new double[nb];
        for (int i = 0; i < nb; i++)
        {
            var b = net.Buses[i];
            _type[i] = b.Type;
            _pd[i] = b.Pd;
            _qd[i] = b.Qd;
        }
        _dead = new bool[nb];
        GenOn = new bool[ng];
        _pgSet = new double[ng];
        _qgSet = new double[ng];
        for (int g = 0; g < ng; g++)
        {
            _pgSet[g] = net.Generators[g].Pg;
            _qgSet[g] = net.Generators[g].Qg;
        }
        _islands = net.Islands;
        _originalRef = new int[_islands.Count];
        _originalRefAngle = new double[_islands.Count];
    }

    public static PowerFlowState Create(Network net, bool flatStart)
    {
        var s = new PowerFlowState(net);
        for (int i = 0; i < net.BusCount; i++)
        {
            var b = net.Buses[i];
            s._dead[i] = b.Type == BusType.Isolated;
            s.V[i] = flatStart ? Complex.One : Complex.FromPolarCoordinates(b.Vm, b.VaDeg * Math.PI / 180);
        }
        for (int g = 0; g < net.Generators.Length; g++)
            s.GenOn[g] = net.Generators[g].InService && !s._dead[net.BusIndex[net.Generators[g].Bus]];

        // islands without any in-service generator cannot be energised
        var busHasGen = new bool[net.BusCount];
        for (int g = 0; g < net.Generators.Length; g++)
            if (s.GenOn[g]) busHasGen[net.BusIndex[net.Generators[g].Bus]] = true;
        foreach (var island in s._islands)
        {
            if (AnyBus(island, busHasGen)) continue;
            foreach (int i in island.Buses) s._dead[i] = true;
            s.Messages.Add(island.Buses.Count == 1
                ? $"bus {net.Buses[island.Buses[0]].Id} has no connection to a generator: not energised (V = 0)"
                : $"island of {island.Buses.Count} buses (incl. bus {net.Buses[island.Buses[0]].Id}) has no in-service generator: not energised (V = 0)");
        }
        for (int i = 0; i < net.BusCount; i++)
            if (s._dead[i] && net.Buses[i].Type != BusType.Isolated) s.V[i] = Complex.Zero;

        // generator voltage set-points at voltage-controlled buses
        for (int g = 0; g < net.Generators.Length; g++)
        {
            if (!s.GenOn[g]) continue;
            int i = net.BusIndex[net.Generators[g].Bus];
            if (s._type[i] is BusType.PV or BusType.Ref)
            {
                double mag = s.V[i].Magnitude;
                s.V[i] = mag > 0 ? s.V[i] * (net.Generators[g].Vg / mag) : net.Generators[g].Vg;
            }
        }
        s.Messages.AddRange(s.AssignBusTypes());
        for (int k = 0; k < s._islands.Count; k++)
        {
            int r = -1;
            foreach (int i in s._islands[k].Buses)
                if (s._type[i] == BusType.Ref) { r = i; break; }
            s._originalRef[k] = r;
            s._originalRefAngle[k] = r >= 0 ? s.V[r].Phase : 0;
        }
        return s;
    }

    /// <summary>
    /// As MATPOWER's bustypes, per island: PV and reference buses need an in-service generator (else PQ);
    /// an island without a usable reference bus gets the PV bus with the largest generation capacity.
    /// </summary>
    public IEnumerable<string> AssignBusTypes()
    {
        var messages = new List<string>();
        var genCap = new double[Net.BusCount];
        var hasGen = new bool[Net.BusCount];
        for (int g = 0; g < Net.Generators.Length; g++)
        {
            if (!GenOn[g]) continue;
            int i = Net.BusIndex[Net.Generators[g].Bus];
            hasGen[i] = true;
            genCap[i] += Net.Generators[g].Pmax;
        }
        foreach (var island in _islands)
        {
            bool allDead = true, hasRef = false;
            foreach (int i in island.Buses) allDead &= _dead[i];
            if (allDead) continue;
            foreach (int i in island.Buses)
            {
                if (_type[i] is BusType.PV or BusType.Ref && !hasGen[i]) _type[i] = BusType.PQ;
                hasRef |= _type[i] == BusType.Ref;
            }
            if (hasRef) continue;
            int best = -1;
            foreach (int i in island.Buses)
                if (_type[i] == BusType.PV && (best < 0 || genCap[i] > genCap[best])) best = i;
            if (best < 0) continue;
            _type[best] = BusType.Ref;
            messages.Add($"bus {Net.Buses[best].Id} is the reference bus of its island of {island.Buses.Count} buses");
        }
        return messages;
    }

    public bool[] DeadBuses => (bool[])_dead.Clone();

    public int[] ReferenceBuses() => BusesOfType(BusType.Ref);

    public bool IsVoltageControlled(int g) => _type[Net.BusIndex[Net.Generators[g].Bus]] is BusType.PV or BusType.Ref;

    public int[] Pv() => BusesOfType(BusType.PV);

    public int[] Pq() => BusesOfType(BusType.PQ);

    /// <summary>The energised buses of a type, in increasing index.</summary>
    private int[] BusesOfType(BusType type)
    {
        int count = 0;
        for (int i = 0; i < _type.Length; i++)
            if (!_dead[i] && _type[i] == type) count++;
        var buses = new int[count];
        count = 0;
        for (int i = 0; i < _type.Length; i++)
            if (!_dead[i] && _type[i] == type) buses[count++] = i;
        return buses;
    }

    private static bool AnyBus(Island island, bool[] flag)
    {
        foreach (int i in island.Buses)
            if (flag[i]) return true;
        return false;
    }

    /// <summary>Scheduled injections (Cg·Sg − Sd)/baseMVA.</summary>
    public Complex[] Sbus()
    {
        var s = new Complex[Net.BusCount];
        for (int i = 0; i < s.Length; i++) s[i] = new Complex(-_pd[i], -_qd[i]);
        for (int g = 0; g < GenOn.Length; g++)
            if (GenOn[g]) s[Net.BusIndex[Net.Generators[g].Bus]] += new Complex(_pgSet[g], _qgSet[g]);
        for (int i = 0; i < s.Length; i++) s[i] /= Net.BaseMva;
        return s;
    }

    /// <summary>Turns a Q-limited generator into a fixed injection (negative load) and its bus into PQ.</summary>
    public void FixGeneratorQ(int g, double pg, double qg)
    {
        int i = Net.BusIndex[Net.Generators[g].Bus];
        GenOn[g] = false;
        // its output from now on: reported as such at the end (a limited reference generator keeps the P it carried)
        _pgSet[g] = pg;
        _qgSet[g] = qg;
        _pd[i] -= pg;
        _qd[i] -= qg;
        _type[i] = BusType.PQ;
    }

    /// <summary>Generator P and Q (MW, MVAr) implied by the current voltages, as MATPOWER's pfsoln.</summary>
    public (double[] Pg, double[] Qg) GeneratorOutputs(ComplexCsr ybus)
    {
        int nb = Net.BusCount, ng = Net.Generators.Length;
        var i = new Complex[nb];
        ybus.Multiply(V, i);
        var pg = (double[])_pgSet.Clone();
        var qg = (double[])_qgSet.Clone();
        // the in-service generators of each voltage-controlled bus in increasing index: first[b], then next[g]
        var first = new int[nb];
        var last = new int[nb];
        var next = new int[ng];
        for (int b = 0; b < nb; b++) first[b] = -1;
        for (int g = 0; g < ng; g++)
        {
            next[g] = -1;
            if (!GenOn[g]) continue;
            int b = Net.BusIndex[Net.Generators[g].Bus];
            if (_type[b] == BusType.PQ) continue;
            if (first[b] < 0) first[b] = g;
            else next[last[b]] = g;
            last[b] = g;
        }
        var gens = new List<int>();
        for (int b = 0; b < nb; b++)
        {
            if (first[b] < 0) continue;
            gens.Clear();
            for (int g = first[b]; g >= 0; g = next[g]) gens.Add(g);
            Complex s = V[b] * Complex.Conjugate(i[b]) * Net.BaseMva;
            double qTotal = s.Imaginary + _qd[b];
            SplitQ(gens, qTotal, qg);
            if (_type[b] == BusType.Ref)
            {
                double others = 0;
                for (int k = 1; k < gens.Count; k++) others += pg[gens[k]];
                pg[gens[0]] = s.Real + _pd[b] - others;
            }
        }
        return (pg, qg);
    }

    /// <summary>Splits a bus's Q among its generators in proportion to their Q ranges (equally if the ranges are not usable).</summary>
    private void SplitQ(List<int> gens, double qTotal, double[] qg)
    {
        if (gens.Count == 1) { qg[gens[0]] = qTotal; return; }
        double qmin = 0, range = 0;
        bool finite = true;
        foreach (int g in gens)
        {
            var gen = Net.Generators[g];
            finite &= double.IsFinite(gen.Qmin) && double.IsFinite(gen.Qmax);
            qmin += gen.Qmin;
            range += gen.Qmax - gen.Qmin;
        }
        if (!finite || range <= 0)
        {
            foreach (int g in gens) qg[g] = qTotal / gens.Count;
            return;
        }
        foreach (int g in gens)
        {
            var gen = Net.Generators[g];
            qg[g] = gen.Qmin + (qTotal - qmin) / range * (gen.Qmax - gen.Qmin);
        }
    }

    public (List<BusSolution> Buses, List<GeneratorSolution> Generators, List<BranchSolution> Branches) Finish(
        Admittance adm, double[] fixedQg, List<int> limited)
    {
        var net = Net;
        int nb = net.BusCount;
        var (pg, qg) = GeneratorOutputs(adm.Ybus);
        foreach (int g in limited)
        {
            int b = net.BusIndex[net.Generators[g].Bus];
            _pd[b] += pg[g];
            _qd[b] += fixedQg[g];
            qg[g] = fixedQg[g];
        }
        // keep each island's original reference angle when Q limits moved the reference
        for (int k = 0; k < _islands.Count; k++)
        {
            int r0 = _originalRef[k];
            if (r0 < 0) continue;
            double shift = _originalRefAngle[k] - V[r0].Phase;
            if (Math.Abs(shift) < 1e-15) continue;
            var rot = Complex.FromPolarCoordinates(1, shift);
            foreach (int i in _islands[k].Buses) V[i] *= rot;
        }
        var current = new Complex[nb];
        adm.Ybus.Multiply(V, current);
        var buses = new List<BusSolution>(nb);
        for (int i = 0; i < nb; i++)
        {
            Complex s = V[i] * Complex.Conjugate(current[i]) * net.BaseMva;
            buses.Add(new BusSolution(net.Buses[i].Id, V[i].Magnitude, V[i].Phase * 180 / Math.PI, s.Real, s.Imaginary));
        }
        var gens = new List<GeneratorSolution>(net.Generators.Length);
        for (int g = 0; g < net.Generators.Length; g++)
        {
            bool on = net.Generators[g].InService && !_dead[net.BusIndex[net.Generators[g].Bus]];
            gens.Add(new GeneratorSolution(g + 1, net.Generators[g].Bus, on ? pg[g] : 0, on ? qg[g] : 0));
        }
        var branches = new List<BranchSolution>(net.Branches.Length);
        for (int l = 0; l < net.Branches.Length; l++)
        {
            var br = net.Branches[l];
            int f = adm.FromBus[l], t = adm.ToBus[l];
            Complex sf = V[f] * Complex.Conjugate(adm.Yff[l] * V[f] + adm.Yft[l] * V[t]) * net.BaseMva;
            Complex st = V[t] * Complex.Conjugate(adm.Ytf[l] * V[f] + adm.Ytt[l] * V[t]) * net.BaseMva;
            branches.Add(new BranchSolution(l + 1, br.From, br.To, sf.Real, sf.Imaginary, st.Real, st.Imaginary));
        }
        return (buses, gens, branches);
    }
}
