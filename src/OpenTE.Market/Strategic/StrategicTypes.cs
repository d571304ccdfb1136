using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.Strategic;

/// <summary>What the leader decides: the offer price of each block, the offered quantity (withholding), or both.</summary>
public enum StrategicMode { Price, Quantity, Both }

/// <summary>Options of the strategic-bidding MPEC and of the equilibrium search.</summary>
public sealed record StrategicOptions
{
    public StrategicMode Mode { get; init; } = StrategicMode.Price;
    /// <summary>Highest offer price ($/MWh). Null: the highest price in the market (bids, offers, generator marginal costs at Pmax, VoLL).</summary>
    public double? PriceCap { get; init; }
    /// <summary>Value of lost load as in <see cref="DcOpfOptions.ValueOfLostLoad"/>.</summary>
    public double? ValueOfLostLoad { get; init; }
    public bool IncludeCaseGenerators { get; init; } = true;
    public bool IncludeCaseLoad { get; init; } = true;
    /// <summary>Multiplies every dual big-M derived from the data (1: as derived; 2: the doubling check).</summary>
    public double BigMScale { get; init; } = 1;
    /// <summary>Times a heuristic big-M may be enlarged (×4) when it is active at the solution.</summary>
    public int MaxBigMRounds { get; init; } = 6;
    /// <summary>Relative MIP gap at which SCIP stops (proven optimality up to this gap).</summary>
    public double RelativeGap { get; init; } = 1e-9;
    /// <summary>Wall-time limit of one MILP solve in seconds.</summary>
    public double TimeLimitSeconds { get; init; } = 300;
    /// <summary>Fix the complementarity binaries that the data decides (branch limits that no dispatch can reach). Default true.</summary>
    public bool FixBinariesFromData { get; init; } = true;
    /// <summary>Equilibrium search: most rounds (each leader solves once per round).</summary>
    public int MaxIterations { get; init; } = 20;
    /// <summary>Equilibrium search: a leader "improves" when its best response beats its current profit by more than this (relative, min 1 $/h scale).</summary>
    public double Tolerance { get; init; } = 1e-6;
}

/// <summary>
/// One leader block: true cost and capacity (from its bids-file row), its strategic offer, what clears and at which
/// price. <see cref="Markup"/> = offer − cost ($/MWh); <see cref="Lerner"/> = (LMP − cost)/LMP at its bus.
/// </summary>
public sealed record LeaderOffer(int Bus, int Block, double Cost, double Quantity, double OfferPrice, double OfferQuantity,
    double Cleared, double Lmp, double ClearedCompetitive, double LmpCompetitive)
{
    public double Markup => OfferPrice - Cost;
    public double Lerner => Lmp == 0 ? double.NaN : (Lmp - Cost) / Lmp;
    public double LernerCompetitive => LmpCompetitive == 0 ? double.NaN : (LmpCompetitive - Cost) / LmpCompetitive;
}

/// <summary>A leader's strategic profit (from the MPEC), its profit when offering at cost, and its profit in the re-cleared market ($/h).</summary>
public sealed record LeaderResult(string Name, double Profit, double CompetitiveProfit, double ReclearedProfit, IReadOnlyList<LeaderOffer> Offers);

/// <summary>LMPs ($/MWh) of the strategic solution (MPEC duals), of the competitive clearing and of the re-clearing.</summary>
public sealed record StrategicBus(int Id, double Lmp, double LmpCompetitive, double LmpRecleared);

/// <summary>
/// The re-clearing check: the leaders' chosen offers cleared again by <see cref="DcOpfSolver"/>. <see cref="Shading"/> is the
/// largest change of an offer price ($/MWh) made to break a tie in the leader's favour (0: the offers as chosen; see docs/strategic.md).
/// </summary>
public sealed record ReclearingCheck(double Profit, double ProfitDifference, double MaxLmpDifference, bool Agrees, double Shading);

/// <summary>The solver side of one MPEC (or the sum over the MPECs of an equilibrium search).</summary>
/// <param name="Binaries">Complementarity binaries left to the solver (of one MPEC; the largest in a search).</param>
/// <param name="FixedByData">Complementarity pairs decided by the data (limits no dispatch can reach): no binary.</param>
/// <param name="Nodes">Branch-and-bound nodes (summed over solves).</param>
/// <param name="Gap">Relative gap between the best bound and the profit of the reported solution (largest over solves).</param>
/// <param name="BigMRounds">Solves needed until no heuristic big-M was active (1: the first bounds held).</param>
/// <param name="BigMEnlarged">Big-Ms enlarged because they were active at a solution.</param>
/// <param name="CutRounds">Tangent (outer-approximation) rounds for quadratic generator costs.</param>
/// <param name="MilpSolves">MILP solves in all.</param>
public sealed record MpecStatistics(int Binaries, int FixedByData, long Nodes, double Gap, int BigMRounds, int BigMEnlarged, int CutRounds, int MilpSolves);

/// <summary>Diagonalisation: whether no leader improved by more than the tolerance in a whole round, after how many rounds, and the cycle if the offer profiles repeat.</summary>
public sealed record EquilibriumReport(bool Converged, int Iterations, IReadOnlyList<int>? Cycle, IReadOnlyList<IReadOnlyList<double>> ProfitHistory);

/// <summary>Result of <see cref="StrategicBidding.Solve"/>.</summary>
public sealed record StrategicResult(
    string Case,
    ClearingStatus Status,
    StrategicMode Mode,
    double PriceCap,
    IReadOnlyList<LeaderResult> Leaders,
    IReadOnlyList<StrategicBus> Buses,
    double Welfare,
    double WelfareCompetitive,
    ReclearingCheck Recleared,
    EquilibriumReport? Equilibrium,
    MpecStatistics Statistics,
    double SolveSeconds,
    IReadOnlyList<string> Messages)
{
    /// <summary>Welfare (true costs) lost by the strategy: competitive welfare − strategic welfare ($/h, ≥ 0 up to solver tolerance).</summary>
    public double WelfareLoss => WelfareCompetitive - Welfare;
    /// <summary>The market re-cleared with the leaders' chosen offers.</summary>
    public required DcOpfResult ReclearedMarket { get; init; }
    /// <summary>The market cleared with the leaders offering at cost.</summary>
    public required DcOpfResult CompetitiveMarket { get; init; }
    /// <summary>Total strategic profit of the leaders ($/h).</summary>
    public double Profit => Leaders.Sum(l => l.Profit);

    /// <summary>The re-cleared market as the one clearing outcome (awards at its LMPs); mechanism "strategic".</summary>
    public ClearingOutcome ToOutcome(bool includeGenerators = false, double intervalHours = 1, DateTimeOffset? start = null) =>
        (Status == ClearingStatus.Optimal ? ReclearedMarket : ReclearedMarket with { Status = Status })
            .ToOutcome(includeGenerators, intervalHours, start, "strategic");
}
