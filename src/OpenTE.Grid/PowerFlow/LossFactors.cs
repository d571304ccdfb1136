using OpenTE.Numerics;
using System.Diagnostics;
using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.Output;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

/// <summary>
/// Sensitivities of one bus: <see cref="Mlf"/> = ∂(branch losses)/∂Pᵢ, <see cref="DImportDInjection"/> = ∂(reference-bus
/// injection)/∂Pᵢ (both MW per MW, 1 MW more injected at bus i, balanced by its island's reference bus), and
/// <see cref="DcMlf"/>, the DC/PTDF approximation of <see cref="Mlf"/> (Σₗ 2·rₗ·fₗ·PTDFₗᵢ). NaN at a bus that is not energised.
/// </summary>
public sealed record BusLossFactor(int Id, double Mlf, double DImportDInjection, double DcMlf);

/// <summary>Marginal loss factors from a converged AC power flow (docs/carbon.md).</summary>
public sealed record LossFactorResult(
    string Case, bool Converged, double LossesMw, int ReferenceBus, IReadOnlyList<BusLossFactor> Buses,
    double SolveSeconds, PowerFlowResult PowerFlow)
{
    /// <summary>The factors of the bus with external number <paramref name="id"/>.</summary>
    public BusLossFactor Bus(int id) => _byId.Value.TryGetValue(id, out var b) ? b : throw new KeyNotFoundException($"bus {id} is not in case {Case}");

    private readonly Lazy<Dictionary<int, BusLossFactor>> _byId = new(() => Buses.ToDictionary(b => b.Id));

    /// <summary>The JSON of <c>opente losses CASE --json</c>: { case, lossesMw, referenceBus, buses: [{ id, mlf, dImportDInjection, dcMlf }] }.</summary>
    public string ToJson() => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("case", Case);
        w.WriteBoolean("converged", Converged);
        w.Number("lossesMw", LossesMw);
        w.WriteNumber("referenceBus", ReferenceBus);
        w.WriteNumber("solveSeconds", SolveSeconds);
        w.Objects("buses", Buses, b =>
        {
            w.WriteNumber("id", b.Id);
            w.Number("mlf", b.Mlf);
            w.Number("dImportDInjection", b.DImportDInjection);
            w.Number("dcMlf", b.DcMlf);
        });
        w.WriteEndObject();
    });
}

/// <summary>
/// Marginal loss factors by the adjoint of the Newton power-flow equations: with f(x) = P,Q(x) − P,Q spec = 0 over the
/// unknowns x (angles of PV/PQ buses, magnitudes of PQ buses) and L(x) the total branch losses, dL/dPᵢspec =
/// (J⁻ᵀ·∇ₓL)ᵢ — one transposed solve with the power-flow Jacobian for all buses. The reference bus balances every
/// change, so its injection (the substation import) changes by dΣPₖ/dPᵢ − 1. See docs/carbon.md.
/// </summary>
public static class LossFactors
{
    public static LossFactorResult Compute(Network net, PowerFlowOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var (pf, state, adm) = AcPowerFlow.SolveWithState(net, options);
        int nb = net.BusCount;
        var v = state.V;
        int[] pv = state.Pv(), pq = state.Pq();
        int npv = pv.Length, n1 = npv + pq.Length, n = n1 + pq.Length;
        var angleIdx = new int[nb];
        var magIdx = new int[nb];
        Arrays.Fill(angleIdx, -1);
        Arrays.Fill(magIdx, -1);
        for (int k = 0; k < npv; k++) angleIdx[pv[k]] = k;
        for (int k = 0; k < pq.Length; k++) { angleIdx[pq[k]] = npv + k; magIdx[pq[k]] = n1 + k; }

        // ∇ₓ ΣₖPₖ over all energised buses (the reference bus included): column sums of dP/dθ and dP/d|V|
        var ybus = adm.Ybus;
        var current = new Complex[nb];
        ybus.Multiply(v, current);
        var gTotal = new double[n];
        var gShunt = new double[n];
        for (int i = 0; i < nb; i++)
        {
            Complex vi = v[i];
            if (vi == Complex.Zero) continue;
            for (int p = ybus.RowPtr[i]; p < ybus.RowPtr[i + 1]; p++)
            {
                int k = ybus.ColIdx[p], ac = angleIdx[k], mc = magIdx[k];
                if (ac < 0) continue;
                var (dVa, dVm) = NewtonRaphson.EntryDerivatives(vi, ybus.Values[p], v[k], current[i], k == i);
                gTotal[ac] += dVa.Real;
                if (mc >= 0) gTotal[mc] += dVm.Real;
            }
            // bus shunt conductance Gs·|V|² is consumption, not a branch loss
            if (magIdx[i] >= 0) gShunt[magIdx[i]] = 2 * net.Buses[i].Gs / net.BaseMva * v[i].Magnitude;
        }

        var sTotal = new double[n];
        var sLoss = new double[n];
        if (n > 0 && pf.Converged)
        {
            var nr = new NewtonRaphson(ybus);
            var jac = nr.Jacobian(v, pv, pq);
            var lu = SparseLU.Factorize(jac, new LuOptions { ColumnOrder = nr.JacobianOrder });
            for (int k = 0; k < n; k++) { sTotal[k] = gTotal[k]; sLoss[k] = gTotal[k] - gShunt[k]; }
            lu.SolveTranspose(sTotal);
            // without shunt conductance the losses are Σₖ Pₖ: the same adjoint; else a second transposed solve on the same factors
            if (gShunt.Any(x => x != 0)) lu.SolveTranspose(sLoss);
            else Array.Copy(sTotal, sLoss, n);
        }

        var dcMlf = DcLossFactors(net, pf, state);
        var refs = state.ReferenceBuses();
        var dead = state.DeadBuses;
        var buses = new BusLossFactor[nb];
        for (int i = 0; i < nb; i++)
        {
            int id = net.Buses[i].Id;
            if (dead[i] || !pf.Converged) { buses[i] = new(id, double.NaN, double.NaN, double.NaN); continue; }
            int a = angleIdx[i];
            buses[i] = a < 0
                ? new(id, 0, -1, 0) // a reference bus: its own injection displaces its import one for one
                : new(id, sLoss[a], sTotal[a] - 1, dcMlf[i]);
        }
        sw.Stop();
        return new LossFactorResult(net.Name, pf.Converged, pf.LossesMw, refs.Length > 0 ? net.Buses[refs[0]].Id : 0, buses,
            sw.Elapsed.TotalSeconds, pf);
    }

    /// <summary>The network with extra active injections (MW, generation positive) at the given buses, taken off their loads.</summary>
    public static Network WithInjections(Network net, IEnumerable<(int Bus, double Mw)> injections)
    {
        var buses = net.Buses.ToArray();
        foreach (var (bus, mw) in injections)
        {
            if (!net.BusIndex.TryGetValue(bus, out int i)) throw new KeyNotFoundException($"bus {bus} is not in case {net.Name}");
            buses[i] = buses[i] with { Pd = buses[i].Pd - mw };
        }
        return new Network(net.Name, net.BaseMva, buses, net.Generators, net.Branches, net.GenCosts, net.CellArrays);
    }

    /// <summary>The substation import (MW): what the reference bus's generation supplies in a solved power flow of <paramref name="net"/>
    /// (its net injection plus its own load).</summary>
    public static double ImportMw(Network net, PowerFlowResult pf, int referenceBus) =>
        pf.Buses[net.BusIndex[referenceBus]].PInjectionMw + net.Buses[net.BusIndex[referenceBus]].Pd;

    /// <summary>
    /// DC/PTDF approximation: losses ≈ Σₗ rₗ·fₗ² (p.u.) with fₗ the AC active flows, so ∂L/∂Pᵢ ≈ Σₗ 2·rₗ·fₗ·PTDFₗᵢ =
    /// (B⁻ᵀ·Bfᵀ·(2·r∘f))ᵢ — one transposed solve on the DC network's factorisation.
    /// </summary>
    private static double[] DcLossFactors(Network net, PowerFlowResult pf, PowerFlowState state)
    {
        var weights = new double[net.Branches.Length];
        for (int l = 0; l < weights.Length; l++)
        {
            var br = net.Branches[l];
            if (!br.InService) continue;
            double f = (pf.Branches[l].Pf - pf.Branches[l].Pt) / 2 / net.BaseMva;
            weights[l] = 2 * br.R * f;
        }
        try
        {
            return new DcNetwork(net).PtdfWeightedSum(weights);
        }
        catch (Input.InputException)
        {
            var nan = new double[net.BusCount];
            Arrays.Fill(nan, double.NaN);
            return nan; // a branch without reactance has no DC model
        }
    }
}
