using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

public sealed record AdmmOptions
{
    public double Rho { get; init; } = 1.0;
    /// <summary>Stop when the primal (reciprocity) and dual residuals are both below this (MW, 2-norm over all trades).</summary>
    public double Tolerance { get; init; } = 1e-4;
    public int MaxIterations { get; init; } = 20_000;
    /// <summary>
    /// Over-relaxation α ∈ (0, 2) of the consensus step (Boyd et al. §3.4.3); 1 is plain ADMM. 1.6 took 3,178 instead of
    /// 5,708 iterations on 1,000 random peers × 10 partners (bench/OpenTE.Bench.P2p).
    /// </summary>
    public double Relaxation { get; init; } = 1.6;
    /// <summary>
    /// Residual balancing (Boyd et al. §3.4.1): ρ ×/÷ τ when one residual exceeds μ times the other, looked at every
    /// <see cref="AdaptEvery"/> iterations. Measured on random markets (bench/OpenTE.Bench.P2p, docs/p2p.md): checking
    /// every iteration with μ = 10 lets the dual residual sit 5–10× above the primal for thousands of iterations; μ = 2
    /// every 100 iterations took 27,768 instead of 45,822 iterations over eight 1,000-peer markets and 8,073 instead of
    /// 16,978 on 10,000 peers; checking every 25 iterations oscillated on one market.
    /// </summary>
    public bool AdaptiveRho { get; init; } = true;
    public double Mu { get; init; } = 2;
    public double Tau { get; init; } = 2;
    /// <summary>ρ adapts only in the first iterations (ADMM converges for a fixed ρ; endless adaptation can stall it).</summary>
    public int AdaptUntil { get; init; } = 10_000;
    /// <summary>Residual balancing looks at the residuals only every this many iterations.</summary>
    public int AdaptEvery { get; init; } = 100;
    public double RhoMin { get; init; } = 1e-3;
    public double RhoMax { get; init; } = 1e3;
    public IProgress<(int Iteration, double Primal, double Dual)>? Progress { get; init; }

    /// <summary>
    /// The end of an iteration, the same for every engine: records the residuals, reports progress every 50 iterations,
    /// and either says the stopping rule is met or moves ρ on (<see cref="NextRho"/>).
    /// </summary>
    public bool Converged(int iteration, double primal, double dual, ref double rho, List<(double Primal, double Dual, double Rho)> history)
    {
        history.Add((primal, dual, rho));
        if (iteration % 50 == 0) Progress?.Report((iteration, primal, dual));
        if (primal <= Tolerance && dual <= Tolerance) return true;
        rho = NextRho(iteration, rho, primal, dual);
        return false;
    }

    /// <summary>Residual balancing: ρ for the next iteration after iteration <paramref name="iteration"/>.</summary>
    public double NextRho(int iteration, double rho, double primal, double dual)
    {
        if (!AdaptiveRho || iteration > AdaptUntil || iteration % AdaptEvery != 0) return rho;
        if (primal > Mu * dual) return Math.Min(rho * Tau, RhoMax);
        if (dual > Mu * primal) return Math.Max(rho / Tau, RhoMin);
        return rho;
    }
}
