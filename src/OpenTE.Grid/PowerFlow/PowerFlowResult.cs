namespace OpenTE.Grid.PowerFlow;

/// <summary>Options of the AC Newton–Raphson power flow (MATPOWER's defaults).</summary>
public sealed record PowerFlowOptions
{
    /// <summary>Convergence tolerance on the largest mismatch, in p.u. (MATPOWER pf.tol).</summary>
    public double Tolerance { get; init; } = 1e-8;
    /// <summary>Newton iterations allowed per solve (MATPOWER pf.nr.max_it).</summary>
    public int MaxIterations { get; init; } = 10;
    /// <summary>Switch PV buses whose generators hit Q limits to PQ and re-solve (MATPOWER pf.enforce_q_lims = 1).</summary>
    public bool EnforceQLimits { get; init; }
    /// <summary>Start from 1 p.u., 0° instead of the case's Vm/Va (generator set-points are always applied).</summary>
    public bool FlatStart { get; init; }
}

public sealed record BusSolution(int Id, double Vm, double VaDeg, double PInjectionMw, double QInjectionMvar);

public sealed record GeneratorSolution(int Index, int Bus, double Pg, double Qg);

/// <summary>Branch flows at both ends, MW and MVAr into the branch. <c>Index</c> is 1-based in case-file order.</summary>
public sealed record BranchSolution(int Index, int From, int To, double Pf, double Qf, double Pt, double Qt);

public sealed record PowerFlowResult(
    string Case,
    bool Converged,
    int Iterations,
    double SolveSeconds,
    IReadOnlyList<BusSolution> Buses,
    IReadOnlyList<GeneratorSolution> Generators,
    IReadOnlyList<BranchSolution> Branches,
    IReadOnlyList<string> Messages)
{
    /// <summary>Total active losses in MW (Σ over branches of pf + pt).</summary>
    public double LossesMw => Branches.Sum(b => b.Pf + b.Pt);
    /// <summary>Non-zeros of the LU factors of the last Jacobian (fill), for benchmarks.</summary>
    public long FactorNonZeros { get; init; }
}
