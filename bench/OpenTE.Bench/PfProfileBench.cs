using System.Diagnostics;
using System.Numerics;
using OpenTE.Grid.PowerFlow;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Bench;

/// <summary>
/// `--pf-profile [CASE...]`: where the AC power flow's time goes, warm, in-process (median of each part in a loop, and what one call allocates):
/// the whole solve, then its parts one by one — bus-type state, Ybus, the bus ordering (AMD), the Jacobian's values,
/// a fresh factorisation (ordering given), a refactorisation on the same pattern, a solve, a mismatch (Ybus·V and
/// S = V·conj(I)) and the result tables — with the Newton iteration count, so the parts can be weighed against the whole.
/// </summary>
public static class PfProfileBench
{
    public static int Run(string[] args)
    {
        string[] cases = args.Where(a => !a.StartsWith("--")).ToArray() is { Length: > 0 } named ? named : ["case_ACTIVSg2000"];
        Console.WriteLine("AC power flow, warm parts (median ms per call, and the fastest call)");
        foreach (var name in cases)
        {
            var net = BenchCases.Load(name);
            var result = AcPowerFlow.Solve(net);
            Console.WriteLine($"{name}: {net.BusCount} buses, {result.Iterations} Newton iterations, converged {result.Converged}, LU fill {result.FactorNonZeros}");
            Row("whole solve (AcPowerFlow.Solve)", () => AcPowerFlow.Solve(net));
            Sequence(net);
            Row("state (bus types, V0)", () => PowerFlowState.Create(net, false));
            Row("Ybus (Admittance.Build)", () => Admittance.Build(net));
            var state = PowerFlowState.Create(net, false);
            var adm = Admittance.Build(net);
            int[] pv = state.Pv(), pq = state.Pq();
            var sbus = state.Sbus();
            Row("Pv/Pq/Sbus", () => (state.Pv(), state.Pq(), state.Sbus()));
            Row("bus AMD order", () => Amd.Order(adm.Ybus.Rows, adm.Ybus.RowPtr, adm.Ybus.ColIdx));
            var nr = new NewtonRaphson(adm.Ybus);
            var v = (Complex[])state.V.Clone();
            var j = nr.Jacobian(v, pv, pq);
            int[] order = nr.JacobianOrder;
            Console.WriteLine($"  Jacobian {j.Rows}x{j.Cols}, nnz {j.Nnz}");
            Row("Jacobian pattern + values (first pass)", () => new NewtonRaphson(adm.Ybus).Jacobian(v, pv, pq));
            Row("Jacobian values (reused pattern)", () => nr.JacobianValues(v));
            var current = new Complex[v.Length];
            Row("Ybus·V", () => { adm.Ybus.Multiply(v, current); return current; });
            var lu = SparseLU.Factorize(j, new LuOptions { ColumnOrder = order });
            Console.WriteLine($"  LU: nnz(L) {lu.NnzL}, nnz(U) {lu.NnzU}");
            Row("LU factorise (order given, pivot search)", () => SparseLU.Factorize(j, new LuOptions { ColumnOrder = order }));
            Row("LU factorise (order given, diagonal first)", () => SparseLU.Factorize(j, new LuOptions { ColumnOrder = order, DiagonalPivotsFirst = true }));
            Row("LU refactorise", () => { lu.Refactorize(j); return lu; });
            var rhs = new double[j.Rows];
            Row("LU solve", () => { Array.Fill(rhs, 1.0); lu.Solve(rhs); return rhs; });
            Row("full Newton (NewtonRaphson.Solve, new solver)", () =>
            {
                var v2 = (Complex[])state.V.Clone();
                return new NewtonRaphson(adm.Ybus).Solve(sbus, v2, pv, pq, 1e-8, 10);
            });
            var solver = new NewtonRaphson(adm.Ybus);
            Row("full Newton (reused solver)", () =>
            {
                var v2 = (Complex[])state.V.Clone();
                return solver.Solve(sbus, v2, pv, pq, 1e-8, 10);
            });
            Row("result tables (Finish)", () => state.Finish(adm, new double[net.Generators.Length], []));
        }
        return 0;
    }

    /// <summary>The solve's steps in sequence as AcPowerFlow.SolveWithState runs them, each timed, medians over runs.</summary>
    private static void Sequence(OpenTE.Grid.Model.Network net)
    {
        string[] names = ["state", "Ybus", "Pv/Pq/Sbus", "Newton", "Finish", "total"];
        var t = names.Select(_ => new List<double>()).ToArray();
        long bytes = 0;
        for (int r = 0; r < 60; r++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            double last = 0;
            void Mark(int k) { double now = sw.Elapsed.TotalMilliseconds; t[k].Add(now - last); last = now; }
            var state = PowerFlowState.Create(net, false); Mark(0);
            var adm = Admittance.Build(net); Mark(1);
            var sbus = state.Sbus(); var pv = state.Pv(); var pq = state.Pq(); Mark(2);
            new NewtonRaphson(adm.Ybus).Solve(sbus, state.V, pv, pq, 1e-8, 10); Mark(3);
            state.Finish(adm, new double[net.Generators.Length], []); Mark(4);
            t[5].Add(sw.Elapsed.TotalMilliseconds);
            bytes = GC.GetAllocatedBytesForCurrentThread() - b0;
        }
        Console.WriteLine($"  in sequence (median ms): " + string.Join(", ", names.Select((n, k) => $"{n} {t[k].Order().ElementAt(t[k].Count / 2):0.000}")) + $"; allocated {bytes / 1024} KiB per solve");
    }

    private static void Row<T>(string label, Func<T> run)
    {
        run();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.Elapsed.TotalSeconds < 1 && times.Count < 300))
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        long b0 = GC.GetAllocatedBytesForCurrentThread();
        run();
        long kib = (GC.GetAllocatedBytesForCurrentThread() - b0) / 1024;
        Console.WriteLine($"  {label,-48} {times[times.Count / 2] * 1e3,9:0.000} ms   (min {times[0] * 1e3:0.000}; allocates {kib} KiB)");
    }
}
