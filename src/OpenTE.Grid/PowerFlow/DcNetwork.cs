using OpenTE.Grid.Input;
using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// The linear (DC) network model of MATPOWER's makeBdc, in p.u. on baseMVA: branch susceptance
/// b = 1/(x·tap), <c>Bbus = Cftᵀ·Bf</c>, phase shifters as injections <c>Pfinj = −b·shift</c>,
/// <c>Pbusinj = Cftᵀ·Pfinj</c>. The reduced matrix (reference buses removed) is factorised once and
/// shared by the DC power flow, PTDF and LODF.
/// </summary>
/// <summary>The series susceptance a DC model gives a branch.</summary>
public enum DcSusceptance
{
    /// <summary>b = 1/x (MATPOWER's DC model; the default).</summary>
    Reactance,
    /// <summary>b = x/(r² + x²), the series admittance's imaginary part, taps and phase shifts ignored: PowerModels' DC model (DCPPowerModel) exactly.</summary>
    Admittance,
}

public sealed class DcNetwork
{
    public Network Net { get; }
    public SparseMatrix Bbus { get; }
    /// <summary>Per branch: susceptance b (0 when out of service), from and to bus indices.</summary>
    public double[] B { get; }
    public int[] From { get; }
    public int[] To { get; }
    public double[] PfInj { get; }
    public double[] PbusInj { get; }
    /// <summary>One reference bus per energised island (internal indices).</summary>
    public int[] ReferenceBuses { get; }
    /// <summary>Buses that are not energised (isolated, or in an island without generation).</summary>
    public bool[] Dead { get; }
    public IReadOnlyList<string> Messages { get; }

    private readonly int[] _unknownIndex;   // bus → position in the reduced system, -1 for reference/dead
    private readonly int[] _unknownBus;     // position → bus
    private SparseLU? _lu;

    public DcNetwork(Network net, DcSusceptance susceptance = DcSusceptance.Reactance)
    {
        Net = net;
        int nb = net.BusCount, nl = net.Branches.Length;
        B = new double[nl];
        From = new int[nl];
        To = new int[nl];
        PfInj = new double[nl];
        PbusInj = new double[nb];
        var zeroX = new List<int>();
        // triplets in arrays of their largest size (no List<double>: compiled by the JIT at its first call in a CLI process)
        var ri = new int[4 * nl + nb];
        var ci = new int[4 * nl + nb];
        var vv = new double[4 * nl + nb];
        int nt = 0;
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            int f = From[l] = net.BusIndex[br.From];
            int t = To[l] = net.BusIndex[br.To];
            if (!br.InService || net.Buses[f].Type == BusType.Isolated || net.Buses[t].Type == BusType.Isolated) continue;
            double x = br.X;
            if (!(Math.Abs(x * br.Tap) >= 1e-8))
            {
                // B = 1/x has no value for a purely resistive branch (PGLib's case1803_snem has them, r ≈ 1e-5): the DC
                // model takes its impedance magnitude |z| = √(r² + x²) as the reactance, so a near-short stays a near-short
                // (PowerModels' b = −x/(r²+x²) would open it instead and can island a bus). Said once per network.
                double z = Math.Sqrt(br.R * br.R + br.X * br.X);
                if (!(Math.Abs(z * br.Tap) >= 1e-8))
                    throw new InputException(net.Name, 0, $"branch {l + 1} ({br.From}-{br.To}) has impedance |z| = {z} p.u. (tap {br.Tap}): the DC model (B = 1/(x·tap)) needs |x·tap| ≥ 1e-8",
                        "give the branch a reactance, or merge the two buses");
                x = z;
                zeroX.Add(l);
            }
            // MATPOWER: b = 1/x. PowerModels' DC model: b = x/(r² + x²), the imaginary part of the series admittance —
            // the two differ where r is not small against x (distribution-like lines) and so do the flows they predict
            // PowerModels' DCPPowerModel is p_f = −b·(θ_f − θ_t) with b = −x/(r² + x²): neither the tap ratio nor the phase
            // shift enters it (PGLib's DC baseline is that model; with the taps kept, case89_pegase's DC objective was 1.7e-3 off)
            bool pm = susceptance == DcSusceptance.Admittance;
            bool zeroXHere = zeroX.Count > 0 && zeroX[^1] == l;
            double b = pm && !zeroXHere ? x / (br.R * br.R + x * x)
                : pm ? 1.0 / x
                : 1.0 / (x * br.Tap);
            B[l] = b;
            PfInj[l] = pm ? 0 : -b * br.AngleDeg * Math.PI / 180;
            PbusInj[f] += PfInj[l];
            PbusInj[t] -= PfInj[l];
            (ri[nt], ci[nt], vv[nt]) = (f, f, b);
            (ri[nt + 1], ci[nt + 1], vv[nt + 1]) = (f, t, -b);
            (ri[nt + 2], ci[nt + 2], vv[nt + 2]) = (t, f, -b);
            (ri[nt + 3], ci[nt + 3], vv[nt + 3]) = (t, t, b);
            nt += 4;
        }
        for (int i = 0; i < nb; i++) { ri[nt] = i; ci[nt] = i; vv[nt++] = 0; }
        Bbus = SparseMatrix.FromTriplets(nb, nb, ri.AsSpan(0, nt), ci.AsSpan(0, nt), vv.AsSpan(0, nt));

        var state = PowerFlowState.Create(net, flatStart: false);
        Dead = state.DeadBuses;
        Messages = zeroX.Count == 0 ? state.Messages
            : [.. state.Messages, $"{zeroX.Count} branch(es) with zero reactance (first: {net.Branches[zeroX[0]].From}-{net.Branches[zeroX[0]].To}): the DC model uses |z| = √(r² + x²) as their reactance"];
        ReferenceBuses = state.ReferenceBuses();
        _unknownIndex = new int[nb];
        var unknown = new List<int>(nb);
        var isRef = new bool[nb];
        foreach (int r in ReferenceBuses) isRef[r] = true;
        for (int i = 0; i < nb; i++)
        {
            if (Dead[i] || isRef[i]) { _unknownIndex[i] = -1; continue; }
            _unknownIndex[i] = unknown.Count;
            unknown.Add(i);
        }
        _unknownBus = unknown.ToArray();
    }

    private static readonly LuOptions DiagonalFirst = new() { DiagonalPivotsFirst = true };

    private SparseLU Factor()
    {
        if (_lu is not null) return _lu;
        var reduced = Bbus.SubMatrix(_unknownBus, _unknownBus);
        // the reduced B is symmetric with a dominant diagonal: the diagonal pivots pass and the factorisation runs on the
        // patterns predicted from its elimination tree, without the pivot search (the same pivots, several times faster)
        _lu = SparseLU.Factorize(reduced, DiagonalFirst);
        return _lu;
    }

    /// <summary>Bus angles (radians) for net injections <paramref name="pbus"/> (p.u., generation − load − shunt), with reference angles <paramref name="refAngle"/>.</summary>
    public double[] Angles(ReadOnlySpan<double> pbus, Func<int, double> refAngle)
    {
        int nb = Net.BusCount;
        var theta = new double[nb];
        foreach (int r in ReferenceBuses) theta[r] = refAngle(r);
        var rhs = new double[_unknownBus.Length];
        for (int k = 0; k < rhs.Length; k++)
        {
            int i = _unknownBus[k];
            rhs[k] = pbus[i] - PbusInj[i];
        }
        // move the reference angles to the right-hand side
        foreach (int r in ReferenceBuses)
        {
            if (theta[r] == 0) continue;
            for (int p = Bbus.ColPtr[r]; p < Bbus.ColPtr[r + 1]; p++)
            {
                int k = _unknownIndex[Bbus.RowIdx[p]];
                if (k >= 0) rhs[k] -= Bbus.Values[p] * theta[r];
            }
        }
        if (rhs.Length > 0) Factor().Solve(rhs);
        for (int k = 0; k < rhs.Length; k++) theta[_unknownBus[k]] = rhs[k];
        return theta;
    }

    /// <summary>
    /// Angle changes for injection changes <paramref name="dp"/> (p.u.) on the intact network, each island's
    /// reference bus balancing its island (B⁻¹·Δp on the shared factorisation; phase shifts do not enter).
    /// </summary>
    public double[] AngleChange(ReadOnlySpan<double> dp)
    {
        var theta = new double[Net.BusCount];
        if (_unknownBus.Length == 0) return theta;
        var rhs = new double[_unknownBus.Length];
        for (int k = 0; k < rhs.Length; k++) rhs[k] = dp[_unknownBus[k]];
        Factor().Solve(rhs);
        for (int k = 0; k < rhs.Length; k++) theta[_unknownBus[k]] = rhs[k];
        return theta;
    }

    /// <summary>Branch flow from → to in p.u. for the given angles.</summary>
    public double Flow(int branch, ReadOnlySpan<double> theta) =>
        B[branch] == 0 ? 0 : B[branch] * (theta[From[branch]] - theta[To[branch]]) + PfInj[branch];

    /// <summary>
    /// PTDF rows for the chosen branches: row[b] = change of the branch flow (p.u.) for 1 p.u. injected at
    /// bus b and withdrawn at its island's reference bus. Computed as Bfₗ·B⁻¹ by one transposed solve per
    /// branch on the shared factorisation; no inverse is formed.
    /// </summary>
    public double[][] Ptdf(IReadOnlyList<int> branches)
    {
        int nb = Net.BusCount;
        var rows = new double[branches.Count][];
        var lu = _unknownBus.Length > 0 ? Factor() : null;
        var rhs = new double[_unknownBus.Length];
        for (int r = 0; r < branches.Count; r++)
        {
            int l = branches[r];
            var row = new double[nb];
            rows[r] = row;
            if (B[l] == 0 || lu is null) continue;
            Array.Clear(rhs);
            int kf = _unknownIndex[From[l]], kt = _unknownIndex[To[l]];
            if (kf >= 0) rhs[kf] += B[l];
            if (kt >= 0) rhs[kt] -= B[l];
            lu.SolveTranspose(rhs);
            for (int k = 0; k < rhs.Length; k++) row[_unknownBus[k]] = rhs[k];
        }
        return rows;
    }

    /// <summary>
    /// Σₗ wₗ·PTDFₗᵢ for every bus i (the sensitivity of Σₗ wₗ·fₗ to 1 p.u. injected at i and withdrawn at the reference
    /// bus): Bᵣ⁻ᵀ·Bfᵀ·w by one transposed solve, whatever the number of branches.
    /// </summary>
    public double[] PtdfWeightedSum(ReadOnlySpan<double> branchWeights)
    {
        var result = new double[Net.BusCount];
        if (_unknownBus.Length == 0) return result;
        var rhs = new double[_unknownBus.Length];
        bool any = false;
        for (int l = 0; l < B.Length; l++)
        {
            if (B[l] == 0 || branchWeights[l] == 0) continue;
            any = true;
            int kf = _unknownIndex[From[l]], kt = _unknownIndex[To[l]];
            if (kf >= 0) rhs[kf] += B[l] * branchWeights[l];
            if (kt >= 0) rhs[kt] -= B[l] * branchWeights[l];
        }
        if (!any) return result; // no weight: no solve (and no factorisation)
        Factor().SolveTranspose(rhs);
        for (int k = 0; k < rhs.Length; k++) result[_unknownBus[k]] = rhs[k];
        return result;
    }

    /// <summary>
    /// LODF[m][o]: change of the flow on monitored branch m per unit of pre-outage flow on branch o when o
    /// trips. LODF[o][o] = −1 by convention. An outage that islands the network (1 − PTDFₒ(fₒ,tₒ) ≈ 0) gives NaN.
    /// </summary>
    public double[][] Lodf(IReadOnlyList<int> monitored, IReadOnlyList<int> outages)
    {
        var all = monitored.Concat(outages).Distinct().ToList();
        var pos = all.Select((b, k) => (b, k)).ToDictionary(x => x.b, x => x.k);
        var ptdf = Ptdf(all);
        var result = new double[monitored.Count][];
        for (int m = 0; m < monitored.Count; m++)
        {
            result[m] = new double[outages.Count];
            var hm = ptdf[pos[monitored[m]]];
            for (int o = 0; o < outages.Count; o++)
            {
                int k = outages[o];
                if (monitored[m] == k) { result[m][o] = -1; continue; }
                var hk = ptdf[pos[k]];
                double denom = 1 - (hk[From[k]] - hk[To[k]]);
                result[m][o] = B[k] == 0 ? 0 : Math.Abs(denom) < 1e-10 ? double.NaN : (hm[From[k]] - hm[To[k]]) / denom;
            }
        }
        return result;
    }
}
