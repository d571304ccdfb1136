using System.Runtime.InteropServices;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Numerics.Optimization;

/// <summary>
/// A second backend for <see cref="INonlinearProgram"/>: COIN-OR Ipopt through its C interface
/// (<c>IpStdCInterface.h</c>), when the shared library is installed (Debian: <c>coinor-libipopt-dev</c>).
/// Same program, same derivatives, an independent algorithm (filter line search, its own sparse solver),
/// so agreement with <see cref="InteriorPoint"/> checks both. Results use <see cref="InteriorPointResult"/>'s conventions.
/// </summary>
public static unsafe class Ipopt
{
    private static readonly Lazy<nint> Library = new(() =>
    {
        foreach (var name in new[] { "libipopt.so.1", "libipopt.so", "libipopt.so.3", "ipopt", "libipopt.dylib" })
            if (NativeLibrary.TryLoad(name, out nint h)) return h;
        return 0;
    });

    /// <summary>Whether the Ipopt shared library could be loaded on this machine.</summary>
    public static bool IsAvailable => Library.Value != 0;

    private static nint Export(string name) => NativeLibrary.GetExport(Library.Value, name);

    private sealed class State(INonlinearProgram p, int[] jr, int[] jc, int[] hr, int[] hc, int neq)
    {
        public INonlinearProgram P { get; } = p;
        public int[] JacRow { get; } = jr;
        public int[] JacCol { get; } = jc;
        public int[] HessRow { get; } = hr;
        public int[] HessCol { get; } = hc;
        public int Neq { get; } = neq;
        public Exception? Error { get; set; }
    }

    public static InteriorPointResult Solve(INonlinearProgram problem, double tolerance = 1e-8, int maxIterations = 500)
    {
        if (!IsAvailable) throw new InvalidOperationException("Ipopt is not installed (Debian: apt-get install coinor-libipopt-dev)");
        int n = problem.Variables, neq = problem.Equalities, niq = problem.Inequalities, m = neq + niq;
        var x0 = problem.InitialPoint();
        var xl = new double[n];
        var xu = new double[n];
        for (int j = 0; j < n; j++)
        {
            xl[j] = double.IsFinite(problem.Lower[j]) ? problem.Lower[j] : -1e20;
            xu[j] = double.IsFinite(problem.Upper[j]) ? problem.Upper[j] : 1e20;
            x0[j] = Math.Clamp(x0[j], xl[j], xu[j]);
        }
        var gl = new double[m];
        var gu = new double[m];
        for (int k = neq; k < m; k++) gl[k] = -1e20;

        // fixed patterns: Jacobian rows (g then h) in CSC order, Hessian lower triangle
        var (jg, jh) = problem.Jacobians(x0);
        var jr = new List<int>();
        var jc = new List<int>();
        AddPattern(jg, 0, jr, jc);
        AddPattern(jh, neq, jr, jc);
        var hess = problem.Hessian(x0, 1, new double[neq], new double[niq]);
        var hr = new List<int>();
        var hc = new List<int>();
        for (int j = 0; j < hess.Cols; j++)
            for (int p = hess.ColPtr[j]; p < hess.ColPtr[j + 1]; p++)
                if (hess.RowIdx[p] >= j) { hr.Add(hess.RowIdx[p]); hc.Add(j); }
        var state = new State(problem, [.. jr], [.. jc], [.. hr], [.. hc], neq);
        // one native solve at a time in a process: Debian's Ipopt factorises with the sequential MUMPS, whose Fortran modules keep
        // global state, and two solves at once crashed the process (a SIGSEGV in dmumps_load's dmumps_upper_predict while another
        // thread was inside Ipopt: the test host died now and then when two Ipopt tests ran in parallel; a server could too)
        lock (NativeLock)
            return SolveNative(state, n, m, neq, x0, xl, xu, gl, gu, jr, hr, tolerance, maxIterations);
    }

    private static readonly object NativeLock = new();

    private static InteriorPointResult SolveNative(State state, int n, int m, int neq, double[] x0, double[] xl, double[] xu, double[] gl, double[] gu,
        List<int> jr, List<int> hr, double tolerance, int maxIterations)
    {
        var handle = GCHandle.Alloc(state);
        nint ipopt = 0;
        try
        {
            var create = (delegate* unmanaged[Cdecl]<int, double*, double*, int, double*, double*, int, int, int, nint, nint, nint, nint, nint, nint>)Export("CreateIpoptProblem");
            fixed (double* pxl = xl, pxu = xu, pgl = gl, pgu = gu)
                ipopt = create(n, pxl, pxu, m, pgl, pgu, jr.Count, hr.Count, 0,
                    (nint)(delegate* unmanaged[Cdecl]<int, double*, int, double*, nint, int>)&EvalF,
                    (nint)(delegate* unmanaged[Cdecl]<int, double*, int, int, double*, nint, int>)&EvalG,
                    (nint)(delegate* unmanaged[Cdecl]<int, double*, int, double*, nint, int>)&EvalGradF,
                    (nint)(delegate* unmanaged[Cdecl]<int, double*, int, int, int, int*, int*, double*, nint, int>)&EvalJac,
                    (nint)(delegate* unmanaged[Cdecl]<int, double*, int, double, int, double*, int, int, int*, int*, double*, nint, int>)&EvalH);
            if (ipopt == 0) throw new InvalidOperationException("Ipopt refused the problem (CreateIpoptProblem returned NULL)");
            var num = (delegate* unmanaged[Cdecl]<nint, byte*, double, int>)Export("AddIpoptNumOption");
            var intOpt = (delegate* unmanaged[Cdecl]<nint, byte*, int, int>)Export("AddIpoptIntOption");
            var str = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, int>)Export("AddIpoptStrOption");
            void Num(string k, double v) { fixed (byte* pk = Ascii(k)) num(ipopt, pk, v); }
            void Int(string k, int v) { fixed (byte* pk = Ascii(k)) intOpt(ipopt, pk, v); }
            void Str(string k, string v) { fixed (byte* pk = Ascii(k), pv = Ascii(v)) str(ipopt, pk, pv); }
            Num("tol", tolerance);
            Int("max_iter", maxIterations);
            Int("print_level", 0);
            Str("sb", "yes");

            var x = (double[])x0.Clone();
            var g = new double[m];
            var multG = new double[m];
            var zl = new double[n];
            var zu = new double[n];
            double obj = 0;
            var solve = (delegate* unmanaged[Cdecl]<nint, double*, double*, double*, double*, double*, double*, nint, int>)Export("IpoptSolve");
            int rc;
            fixed (double* px = x, pg = g, pm = multG, pzl = zl, pzu = zu)
                rc = solve(ipopt, px, pg, &obj, pm, pzl, pzu, GCHandle.ToIntPtr(handle));
            if (state.Error is { } e) throw new InvalidOperationException("an Ipopt callback failed: " + e.Message, e);
            var status = rc switch
            {
                0 or 1 => SolverStatus.Optimal,
                2 => SolverStatus.Infeasible,       // Infeasible_Problem_Detected
                -1 or -3 => SolverStatus.NotConverged, // Maximum_Iterations_Exceeded, Restoration_Failed
                3 or 4 => SolverStatus.NotConverged,  // Search_Direction_Becomes_Too_Small, Diverging_Iterates
                _ => SolverStatus.NumericalError,
            };
            // Ipopt's Lagrangian is f + λᵀc with λ ≥ 0 for an active upper bound: the same signs as ours
            return new InteriorPointResult(status, x, obj, multG[..neq], multG[neq..], zl, zu, 0, $"Ipopt return code {rc}");
        }
        finally
        {
            if (ipopt != 0) ((delegate* unmanaged[Cdecl]<nint, void>)Export("FreeIpoptProblem"))(ipopt);
            handle.Free();
        }
    }

    private static byte[] Ascii(string s) => [.. System.Text.Encoding.ASCII.GetBytes(s), 0];

    private static void AddPattern(SparseMatrix a, int rowOffset, List<int> rows, List<int> cols)
    {
        for (int j = 0; j < a.Cols; j++)
            for (int p = a.ColPtr[j]; p < a.ColPtr[j + 1]; p++) { rows.Add(a.RowIdx[p] + rowOffset); cols.Add(j); }
    }

    private static State Of(nint user) => (State)GCHandle.FromIntPtr(user).Target!;

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static int EvalF(int n, double* x, int newX, double* obj, nint user)
    {
        var s = Of(user);
        try { *obj = s.P.Objective(new ReadOnlySpan<double>(x, n), new double[n]); return 1; }
        catch (Exception e) { s.Error = e; return 0; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static int EvalGradF(int n, double* x, int newX, double* grad, nint user)
    {
        var s = Of(user);
        try { s.P.Objective(new ReadOnlySpan<double>(x, n), new Span<double>(grad, n)); return 1; }
        catch (Exception e) { s.Error = e; return 0; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static int EvalG(int n, double* x, int newX, int m, double* g, nint user)
    {
        var s = Of(user);
        try
        {
            var all = new Span<double>(g, m);
            s.P.Constraints(new ReadOnlySpan<double>(x, n), all[..s.Neq], all[s.Neq..]);
            return 1;
        }
        catch (Exception e) { s.Error = e; return 0; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static int EvalJac(int n, double* x, int newX, int m, int nele, int* iRow, int* jCol, double* values, nint user)
    {
        var s = Of(user);
        try
        {
            if (values == null)
            {
                for (int k = 0; k < nele; k++) { iRow[k] = s.JacRow[k]; jCol[k] = s.JacCol[k]; }
                return 1;
            }
            var (jg, jh) = s.P.Jacobians(new ReadOnlySpan<double>(x, n));
            if (jg.Nnz + jh.Nnz != nele) throw new InvalidOperationException("the Jacobian pattern changed");
            int q = 0;
            for (int j = 0; j < jg.Cols; j++) for (int p = jg.ColPtr[j]; p < jg.ColPtr[j + 1]; p++) values[q++] = jg.Values[p];
            for (int j = 0; j < jh.Cols; j++) for (int p = jh.ColPtr[j]; p < jh.ColPtr[j + 1]; p++) values[q++] = jh.Values[p];
            return 1;
        }
        catch (Exception e) { s.Error = e; return 0; }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static int EvalH(int n, double* x, int newX, double objFactor, int m, double* lambda, int newLambda, int nele, int* iRow, int* jCol, double* values, nint user)
    {
        var s = Of(user);
        try
        {
            if (values == null)
            {
                for (int k = 0; k < nele; k++) { iRow[k] = s.HessRow[k]; jCol[k] = s.HessCol[k]; }
                return 1;
            }
            var l = new ReadOnlySpan<double>(lambda, m);
            var h = s.P.Hessian(new ReadOnlySpan<double>(x, n), objFactor, l[..s.Neq], l[s.Neq..]);
            int q = 0;
            for (int j = 0; j < h.Cols; j++)
                for (int p = h.ColPtr[j]; p < h.ColPtr[j + 1]; p++)
                    if (h.RowIdx[p] >= j) values[q++] = h.Values[p];
            if (q != nele) throw new InvalidOperationException("the Hessian pattern changed");
            return 1;
        }
        catch (Exception e) { s.Error = e; return 0; }
    }
}
