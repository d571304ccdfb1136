using OpenTE.Grid.Model;
using OpenTE.Numerics.Optimization;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Market.AcOpf;

/// <summary>The parts of one bus's λ_P ($/MWh) and λ_Q ($/MVArh); each set adds up to the price.</summary>
public sealed record PriceParts(double Energy, double Loss, double Congestion, double Voltage, double QLoss, double QCongestion, double QVoltage);

/// <summary>
/// Decomposes the AC OPF prices at the reference bus (docs/ac-opf.md). The state variables x = (θ and |V| of
/// every bus but the reference, which holds its voltage and supplies P and Q like a power flow's slack) appear in
/// no cost, so stationarity of the Lagrangian in x reads
/// <code>J_xᵀ λ = −J_h,xᵀ μ_flow − (μ_Vmax − μ_Vmin) − J_x[Q_ref]·λ_Q,ref</code>
/// with J_x the balance Jacobian without the reference bus's Q row. With one more equation fixing λ_P at the
/// reference bus this is square, and λ = λ_ref·λ⁰ + λ_C + λ_V by linearity: λ⁰ solves it with no right-hand
/// side and λ⁰_P,ref = 1 (delivery factors: λ⁰_P = 1 − marginal loss factor, λ⁰_Q the reactive loss
/// sensitivity), λ_C with the branch-limit multipliers, λ_V with the voltage-limit multipliers and the value of
/// reactive power at the reference (λ_P,ref = 0 for both). Energy = λ_ref on every bus, loss = λ_ref·(λ⁰ − 1)
/// for P and λ_ref·λ⁰_Q for Q.
/// </summary>
internal static class AcOpfPrices
{
    public static PriceParts[]? Decompose(Network net, AcOpfProgram program, InteriorPointResult r, List<string> messages)
    {
        int nb = net.BusCount;
        int refBus = -1, refs = 0;
        for (int i = 0; i < nb; i++)
            if (net.Buses[i].Type == BusType.Ref) { refs++; if (refBus < 0) refBus = i; }
        if (refs != 1)
        {
            messages.Add($"price decomposition needs one reference bus; the case has {refs}: parts not reported");
            return null;
        }
        var (jg, jh) = program.Jacobians(r.X);
        Block balanceP = program.Layout.Equalities["balanceP"], balanceQ = program.Layout.Equalities["balanceQ"];
        Block va = program.Layout.Variables["Va"], vm = program.Layout.Variables["Vm"];
        int refRow = balanceP.IndexOf(refBus), refQRow = balanceQ.IndexOf(refBus);
        // the unknowns are the balance multipliers but the reference bus's Q: numbered as the equality rows without it
        int Row(int eqRow) => eqRow < refQRow ? eqRow : eqRow - 1;
        // state columns: Va of every energised non-reference bus, Vm of every energised non-reference bus (the
        // reference bus holds its voltage and supplies the reactive power, as the slack of a power flow); column
        // numbers follow the balance rows (Va_i with balanceP[i], Vm_i with balanceQ[i]) so the matrix has a
        // power-flow Jacobian's structure and a symmetric ordering keeps its fill low
        int n = program.Equalities - 1;
        var state = new List<(int Var, int Col)>();
        for (int k = 0; k < balanceP.Length; k++)
        {
            int i = balanceP.Member(k);
            if (i == refBus) continue;
            state.Add((va[i], Row(balanceP[k])));
            state.Add((vm[i], Row(balanceQ[k])));
        }
        if (state.Count + 1 != n)
        {
            messages.Add("price decomposition: the balance Jacobian is not square with the reference equation: parts not reported");
            return null;
        }
        var b = new TripletBuilder(n, n, jg.Nnz + 1);
        var refQCoef = new double[n]; // J[Q_ref, c]: moves λ_Q,ref to the right-hand side
        foreach (var (v, c) in state)
        {
            for (int p = jg.ColPtr[v]; p < jg.ColPtr[v + 1]; p++)
            {
                if (jg.RowIdx[p] == refQRow) refQCoef[c] += jg.Values[p];
                else b.Add(Row(jg.RowIdx[p]), c, jg.Values[p]);
            }
        }
        int refCol = Row(refRow);
        b.Add(refCol, refCol, 1);
        SparseLU lu;
        try { lu = SparseLU.Factorize(b.ToCsc(), new LuOptions { PivotTolerance = 0.1 }); }
        catch (SingularMatrixException)
        {
            messages.Add("price decomposition: the balance Jacobian is singular at the optimum: parts not reported");
            return null;
        }
        // Jhᵀμ on the state columns (flow and angle rows)
        var jhTmu = new double[program.Variables];
        jh.MultiplyTranspose(r.Mu, jhTmu);
        double lambdaQRef = r.Lambda[refQRow];
        var unit = new double[n];
        var cong = new double[n];
        var volt = new double[n];
        foreach (var (v, c) in state)
        {
            cong[c] = -jhTmu[v];
            volt[c] = -(r.MuUpper[v] - r.MuLower[v]) - refQCoef[c] * lambdaQRef;
        }
        unit[refCol] = 1;
        lu.SolveTranspose(unit);
        lu.SolveTranspose(cong);
        lu.SolveTranspose(volt);
        double baseMva = net.BaseMva, lambdaRef = r.Lambda[refRow];
        var parts = new PriceParts[nb];
        for (int i = 0; i < nb; i++)
        {
            int rp = balanceP.IndexOf(i), rq = balanceQ.IndexOf(i);
            if (rp < 0) { parts[i] = new PriceParts(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN); continue; }
            double u = unit[Row(rp)], cp = cong[Row(rp)], vp = volt[Row(rp)];
            double uq = rq == refQRow ? 0 : unit[Row(rq)], cq = rq == refQRow ? 0 : cong[Row(rq)], vq = rq == refQRow ? lambdaQRef : volt[Row(rq)];
            parts[i] = new PriceParts(lambdaRef / baseMva, lambdaRef * (u - 1) / baseMva, cp / baseMva, vp / baseMva,
                lambdaRef * uq / baseMva, cq / baseMva, vq / baseMva);
        }
        return parts;
    }
}
