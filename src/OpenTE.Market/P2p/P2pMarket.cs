using OpenTE.Market.Outcome;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.P2p;

/// <summary>
/// A peer's private data: quadratic cost ½·a·P² + b·P ($/h, P in MW; for a consumer, P ≤ 0 and the cost is minus its
/// utility of consuming −P, so b is its marginal utility at zero and C'(P) its marginal utility),
/// its limits (a producer has 0 ≤ Pmin ≤ P ≤ Pmax, a consumer Pmin ≤ P ≤ Pmax ≤ 0), and its per-partner trade
/// charges c_nm ($/MWh on |P_nm|: distance, green premium as a negative charge, grid fees).
/// </summary>
public sealed record Peer(string Id, double A, double B, double Pmin, double Pmax, IReadOnlyDictionary<int, double> Partners)
{
    public bool Producer => Pmin >= 0 && Pmax >= 0;
    public double Cost(double p) => 0.5 * A * p * p + B * p;
}

/// <summary>A P2P market: peers and who may trade with whom (each partnership listed on both sides, producer–consumer).</summary>
public sealed record P2pMarketData(IReadOnlyList<Peer> Peers)
{
    /// <summary>
    /// Each peer's partners in ascending order, and for each (n, k) the position of n in its k-th partner's list
    /// (where P_mn is read): the index both ADMM engines and the central QP work on.
    /// </summary>
    public (int[][] Partners, int[][] Back) Links()
    {
        var partners = Peers.Select(p => p.Partners.Keys.Order().ToArray()).ToArray();
        var back = partners.Select((list, n) => list.Select(m => Array.BinarySearch(partners[m], n)).ToArray()).ToArray();
        return (partners, back);
    }

    /// <summary>Checks the market: limits, partner symmetry, producer–consumer pairs. Throws ArgumentException naming the peer.</summary>
    public void Validate()
    {
        for (int n = 0; n < Peers.Count; n++)
        {
            var p = Peers[n];
            if (!(p.A > 0) || !double.IsFinite(p.A) || !double.IsFinite(p.B)) throw new ArgumentException($"peer {p.Id}: the quadratic coefficient a must be positive and finite (got {p.A})");
            if (!(p.Pmin <= p.Pmax)) throw new ArgumentException($"peer {p.Id}: Pmin {p.Pmin} is above Pmax {p.Pmax}");
            if (!(p.Pmin >= 0 || p.Pmax <= 0)) throw new ArgumentException($"peer {p.Id}: limits [{p.Pmin}, {p.Pmax}] straddle 0; a peer is either a producer (≥ 0) or a consumer (≤ 0)");
            foreach (var (m, c) in p.Partners)
            {
                if (m < 0 || m >= Peers.Count || m == n) throw new ArgumentException($"peer {p.Id}: partner {m} does not exist");
                if (!Peers[m].Partners.ContainsKey(n)) throw new ArgumentException($"peer {p.Id} lists {Peers[m].Id} as a partner but not the other way round");
                if (Peers[m].Producer == p.Producer) throw new ArgumentException($"peers {p.Id} and {Peers[m].Id} are both {(p.Producer ? "producers" : "consumers")}: trades pair a producer with a consumer");
                if (!double.IsFinite(c)) throw new ArgumentException($"peer {p.Id}: trade charge towards {Peers[m].Id} is not finite");
            }
        }
    }
}

/// <summary>The result: trades P_nm (n sells to m when positive), the bilateral prices λ_nm, welfare and the ADMM history.</summary>
public sealed record P2pResult(
    ClearingStatus Status,
    int Iterations,
    double Welfare,
    double[] Power,                                   // per peer: Σ_m P_nm
    IReadOnlyList<Dictionary<int, double>> Trades,     // per peer n: partner m → P_nm
    IReadOnlyList<Dictionary<int, double>> Prices,     // per peer n: partner m → the trade's price −λ_nm ($/MWh): producer's MC + its charge = consumer's MU − its charge
    IReadOnlyList<(double Primal, double Dual, double Rho)> History,
    double Seconds)
{
    /// <summary>Σ over peers of cost (utility counts negative) plus trade charges, with the sign flipped: $/h.</summary>
    public static double WelfareOf(P2pMarketData data, IReadOnlyList<Dictionary<int, double>> trades)
    {
        double cost = 0;
        for (int n = 0; n < data.Peers.Count; n++)
        {
            var peer = data.Peers[n];
            cost += peer.Cost(trades[n].Values.Sum());
            foreach (var (m, p) in trades[n]) cost += peer.Partners[m] * Math.Abs(p);
        }
        return -cost;
    }
}

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

/// <summary>
/// One peer's ADMM step (Sorin, Baroche &amp; Pinson 2019): with targets t_nm (z_nm − λ_nm/ρ from the last round),
/// <code>min  C_n(Σ_m P_nm) + Σ_m c_nm·|P_nm| + Σ_m ρ/2·(P_nm − t_nm)²,   sign(P_nm) fixed by the role, Pmin ≤ Σ P_nm ≤ Pmax</code>
/// For a marginal value μ the trades are P_nm(μ) = clip((β_m − μ)/ρ) with β_m = ρ·t_nm − s·c_nm (s = +1 producer, −1
/// consumer, clip to the role's sign): the sum S(μ) is piecewise linear in μ with breakpoints β_m. The optimum has
/// μ = C'(P) = a·P + b with P = S(μ) unless P is at a limit; on each linear piece that is one linear equation, so after
/// sorting the breakpoints the step is solved exactly in O(K log K) for K partners (no iteration, no tolerance).
/// Only the peer's own data and its partners' proposals enter: this runs unchanged inside an agent.
/// </summary>
public static class PeerStep
{
    /// <param name="charges">c_nm per partner, in the order of <paramref name="target"/> and <paramref name="trades"/>.</param>
    /// <param name="target">t_nm per partner (at least as long as <paramref name="charges"/>).</param>
    /// <param name="trades">Receives P_nm per partner.</param>
    public static void Solve(Peer peer, ReadOnlySpan<double> charges, ReadOnlySpan<double> target, double rho, Span<double> trades)
    {
        int K = charges.Length;
        double s = peer.Producer ? 1 : -1, a = peer.A, b = peer.B;
        // breakpoints in the order trades switch on as μ moves away from them: descending for a producer
        // (trade k is active for μ < β_k), ascending for a consumer (active for μ > β_k); kept as −s·β to sort one way
        Span<double> beta = K <= 128 ? stackalloc double[K] : new double[K];
        for (int k = 0; k < K; k++) beta[k] = -s * (rho * target[k] - s * charges[k]);
        beta.Sort(); // ascending in −s·β: producers' β descending, consumers' β ascending
        // unconstrained: on the piece where the first j breakpoints (in that order) are active, S(μ) = (B_j − j·μ)/ρ for
        // both roles (B_j the sum of those β), and S(μ) = P = (μ − b)/a gives μ = (a·B_j + ρ·b)/(a·j + ρ); the first j whose
        // μ has not yet reached the (j+1)-th breakpoint is the piece of the root (S − P is monotone in μ)
        double mu = double.NaN, sumB = 0;
        for (int j = 0; j <= K; j++)
        {
            if (j > 0) sumB += -s * beta[j - 1];
            double m = (a * sumB + rho * b) / (a * j + rho);
            double next = j == K ? double.NaN : -s * beta[j];
            // valid if the (j+1)-th breakpoint is not yet reached: producer μ ≥ β_(j+1), consumer μ ≤ β_(j+1)
            if (j == K || s * (m - next) >= 0) { mu = m; break; }
        }
        double total = (mu - b) / a;
        if (total > peer.Pmax || total < peer.Pmin)
        {
            // at a limit T: the trades add up to it, (B_j − j·μ)/ρ = T on the piece with j active → μ = (B_j − ρ·T)/j
            double T = Math.Clamp(total, peer.Pmin, peer.Pmax);
            if (T == 0) { trades[..K].Clear(); return; }
            sumB = 0;
            for (int j = 1; j <= K; j++)
            {
                sumB += -s * beta[j - 1];
                double m = (sumB - rho * T) / j;
                double next = j == K ? double.NaN : -s * beta[j];
                if (j == K || s * (m - next) >= 0) { mu = m; break; }
            }
        }
        for (int k = 0; k < K; k++)
        {
            double v = (rho * target[k] - s * charges[k] - mu) / rho;
            trades[k] = s > 0 ? Math.Max(0, v) : Math.Min(0, v);
        }
    }
}

/// <summary>The consensus ADMM P2P market, all peers in this process (the reference engine; the Orleans engine runs the same steps in grains).</summary>
public static class P2pAdmm
{
    public static P2pResult Solve(P2pMarketData data, AdmmOptions? options = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var o = options ?? new AdmmOptions();
        data.Validate();
        int N = data.Peers.Count;
        var (partners, back) = data.Links();
        var P = partners.Select(p => new double[p.Length]).ToArray();
        var z = partners.Select(p => new double[p.Length]).ToArray();
        var lam = partners.Select(p => new double[p.Length]).ToArray();
        var charges = partners.Select((p, n) => p.Select(m => data.Peers[n].Partners[m]).ToArray()).ToArray();
        var target = new double[partners.Max(p => p.Length) + 1];
        double rho = o.Rho, alpha = o.Relaxation;
        var history = new List<(double Primal, double Dual, double Rho)>();
        var status = ClearingStatus.NotConverged;
        int iter = 0;
        for (iter = 1; iter <= o.MaxIterations; iter++)
        {
            for (int n = 0; n < N; n++)
            {
                for (int k = 0; k < partners[n].Length; k++) target[k] = z[n][k] - lam[n][k] / rho;
                PeerStep.Solve(data.Peers[n], charges[n], target, rho, P[n]);
            }
            var (primal, dz) = Residuals(partners, back, P, z, alpha, lam, rho);
            if (o.Converged(iter, primal, rho * dz, ref rho, history)) { status = ClearingStatus.Optimal; break; }
        }
        iter = Math.Min(iter, o.MaxIterations);
        return Result(data, partners, P, lam, status, iter, history, sw.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// After a round of proposals <paramref name="P"/>: the primal residual ‖P_nm + P_mn‖ (reciprocity) and ‖Δz‖, the
    /// change of the consensus (times ρ the dual residual), 2-norms over all trades. Updates z in place and, if given,
    /// the prices λ (<see cref="Consensus"/>). Needs only the proposals: the Orleans coordinator uses it too.
    /// </summary>
    public static (double Primal, double DeltaZ) Residuals(int[][] partners, int[][] back, double[][] P, double[][] z, double alpha,
        double[][]? lam = null, double rho = 0)
    {
        double primal = 0, dz = 0;
        for (int n = 0; n < partners.Length; n++)
            for (int k = 0; k < partners[n].Length; k++)
            {
                double own = P[n][k], other = P[partners[n][k]][back[n][k]];
                primal += (own + other) * (own + other);
                var (zNew, step) = Consensus(own, other, z[n][k], alpha);
                dz += (zNew - z[n][k]) * (zNew - z[n][k]);
                z[n][k] = zNew;
                if (lam is not null) lam[n][k] += rho * step;
            }
        return (Math.Sqrt(primal), Math.Sqrt(dz));
    }

    /// <summary>
    /// The consensus and price step for one trade (n, m) after a round: with over-relaxation α the proposals
    /// P̂_nm = α·P_nm + (1−α)·z_nm and P̂_mn = α·P_mn − (1−α)·z_nm give z_nm ← (P̂_nm − P̂_mn)/2 (z_mn = −z_nm) and
    /// λ_nm += ρ·(P̂_nm − z_nm) = ρ·(P̂_nm + P̂_mn)/2. Returns the new z_nm and (P̂_nm + P̂_mn)/2, the λ step over ρ.
    /// Needs only the peer's own proposal, its partner's and its own z: both sides compute the same z (antisymmetric).
    /// </summary>
    public static (double Z, double Step) Consensus(double own, double partner, double z, double alpha)
    {
        double hatOwn = alpha * own + (1 - alpha) * z, hatPartner = alpha * partner - (1 - alpha) * z;
        return (0.5 * (hatOwn - hatPartner), 0.5 * (hatOwn + hatPartner));
    }

    /// <summary>Packs trades and multipliers (λ, per peer and partner in ascending partner order) into a result.</summary>
    public static P2pResult Result(P2pMarketData data, int[][] partners, double[][] P, double[][] lam, ClearingStatus status, int iterations,
        List<(double, double, double)> history, double seconds)
    {
        int N = data.Peers.Count;
        var trades = new List<Dictionary<int, double>>(N);
        var prices = new List<Dictionary<int, double>>(N);
        for (int n = 0; n < N; n++)
        {
            trades.Add(partners[n].Select((m, k) => (m, k)).ToDictionary(x => x.m, x => P[n][x.k]));
            prices.Add(partners[n].Select((m, k) => (m, k)).ToDictionary(x => x.m, x => -lam[n][x.k]));
        }
        return new P2pResult(status, iterations, P2pResult.WelfareOf(data, trades), [.. trades.Select(t => t.Values.Sum())], trades, prices, history, seconds);
    }
}

/// <summary>The same market solved centrally as one QP (interior point): the reference the ADMM must reach.</summary>
public static class P2pCentral
{
    public static P2pResult Solve(P2pMarketData data)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        data.Validate();
        int N = data.Peers.Count;
        var m = new OptimizationModel();
        var (partners, back) = data.Links();
        var vars = new Variable[N][];
        for (int n = 0; n < N; n++)
        {
            var peer = data.Peers[n];
            double sign = peer.Producer ? 1 : -1;
            vars[n] = [.. partners[n].Select(k => m.AddVariable($"P[{n},{k}]", sign > 0 ? 0 : double.NegativeInfinity, sign > 0 ? double.PositiveInfinity : 0, peer.Partners[k] * sign))];
            var total = m.AddVariable($"P[{n}]", peer.Pmin, peer.Pmax, peer.B);
            m.AddQuadraticCost(total, total, peer.A);
            m.AddEquality($"sum[{n}]", 0, [(total, 1), .. vars[n].Select(v => (v, -1.0))]);
        }
        var recip = new Constraint[N][];
        for (int n = 0; n < N; n++)
        {
            recip[n] = new Constraint[partners[n].Length];
            for (int k = 0; k < partners[n].Length; k++)
            {
                int mm = partners[n][k];
                if (mm < n) continue;
                recip[n][k] = m.AddEquality($"reciprocity[{n},{mm}]", 0, [(vars[n][k], 1), (vars[mm][back[n][k]], 1)]);
            }
        }
        var sol = m.Solve(SolverKind.InteriorPoint);
        var P = vars.Select(v => v.Select(sol.Value).ToArray()).ToArray();
        // λ_nm: the price of the reciprocity constraint (same for both sides)
        var lam = partners.Select(p => new double[p.Length]).ToArray();
        for (int n = 0; n < N; n++)
            for (int k = 0; k < partners[n].Length; k++)
            {
                int mm = partners[n][k];
                var row = mm > n ? recip[n][k] : recip[mm][back[n][k]];
                lam[n][k] = -sol.Dual(row);
            }
        return P2pAdmm.Result(data, partners, P, lam, ClearingStatuses.From(sol.Status), sol.Iterations, [], sw.Elapsed.TotalSeconds);
    }
}

/// <summary>Random markets for tests and benchmarks: producers and consumers with quadratic costs/utilities, a few partners each.</summary>
public static class P2pGenerator
{
    public static P2pMarketData Random(int peers, int partnersPerPeer, int seed, double chargeSpread = 2)
    {
        var rnd = new Random(seed);
        int producers = peers / 2;
        var isProducer = Enumerable.Range(0, peers).Select(n => n < producers).ToArray();
        var links = Enumerable.Range(0, peers).Select(_ => new Dictionary<int, double>()).ToArray();
        for (int n = 0; n < peers; n++)
        {
            int wanted = partnersPerPeer;
            for (int tries = 0; links[n].Count < wanted && tries < 20 * wanted; tries++)
            {
                int m = isProducer[n] ? producers + rnd.Next(peers - producers) : rnd.Next(producers);
                if (links[n].ContainsKey(m) || links[m].Count >= 2 * partnersPerPeer) continue;
                links[n][m] = Math.Round(chargeSpread * rnd.NextDouble(), 3);
                links[m][n] = Math.Round(chargeSpread * rnd.NextDouble(), 3);
            }
        }
        var list = new List<Peer>(peers);
        for (int n = 0; n < peers; n++)
        {
            if (links[n].Count == 0)
            {
                // an isolated peer still needs one partner
                int m = isProducer[n] ? producers + rnd.Next(peers - producers) : rnd.Next(producers);
                links[n][m] = 1;
                links[m][n] = 1;
            }
        }
        for (int n = 0; n < peers; n++)
            list.Add(isProducer[n]
                ? new Peer($"prod{n}", 0.05 + 0.2 * rnd.NextDouble(), 10 + 30 * rnd.NextDouble(), 0, 20 + 60 * rnd.NextDouble(), links[n])
                // a consumer's cost of P ≤ 0 is minus its utility of −P: C(P) = ½·a·P² + b·P with b = marginal utility at 0
                : new Peer($"cons{n}", 0.05 + 0.2 * rnd.NextDouble(), 40 + 50 * rnd.NextDouble(), -(10 + 50 * rnd.NextDouble()), 0, links[n]));
        return new P2pMarketData(list);
    }
}
