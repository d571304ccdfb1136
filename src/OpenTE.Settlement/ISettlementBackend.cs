using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement;

/// <summary>
/// Where the escrow rules run: the embedded <see cref="EscrowEngine"/> or a contract on an Ethereum chain
/// (OpenTE.Settlement.Ethereum). Same calls, same refusals, same balances. Times are the engine clock
/// (unix seconds); a chain backend moves its block time to them.
/// </summary>
public interface ISettlementBackend : IDisposable
{
    string Name { get; }
    void RegisterMeter(string meter, string owner);
    void SetImbalancePrice(long intervalStart, long pricePerMWh);
    Refusal Deposit(string participant, long amount, long now);
    Refusal Open(SignedCommitment commitment, long now);
    Refusal PostReading(SignedReading reading, long now);
    /// <summary>Settles and refunds what is due at <paramref name="now"/>; returns how many trades changed state.</summary>
    int Advance(long now);
    ParticipantBalance Balance(string participant);
    /// <summary>system:deposits, system:imbalance (money), system:imbalance (Wh), system:losses (Wh).</summary>
    (long Deposits, long ImbalanceMoney, long ImbalanceEnergy, long LossesEnergy) SystemBalances();
    /// <summary>A trade's state and outcome (null when the trade was never opened here).</summary>
    TradeStatus? Trade(string id);
    /// <summary>
    /// Every posting of this market so far, in order: the embedded engine's own, or on a chain the ones rebuilt
    /// from the contract's events (same keys, kinds, accounts, commodities and amounts; times are block times).
    /// </summary>
    IReadOnlyList<Posting> Postings();
    /// <summary>Posts a settled trade's carbon adjustment (docs/carbon.md): the same posting (carbon:ID) on every backend that supports it.</summary>
    Refusal PostCarbon(CarbonAdjustment adjustment, long now) =>
        throw new BackendException("--carbon", $"the {Name} backend does not post carbon adjustments", "settle with carbon on the embedded backend");
    /// <summary>Posts many carbon adjustments (a chain backend batches them); per adjustment the refusal it would get alone.</summary>
    IReadOnlyList<Refusal> PostCarbonBatch(IReadOnlyList<CarbonAdjustment> adjustments, long now) => [.. adjustments.Select(a => PostCarbon(a, now))];
    /// <summary>The detail of the last refusal when the backend knows more than its name (the embedded engine's amounts), else null.</summary>
    string? LastRefusalDetail => null;
    /// <summary>
    /// <see cref="Postings"/> with each carbon:ID folded into its trade's settle:ID where <paramref name="intoSettle"/> (given the trade id)
    /// allows it: <see cref="CarbonFold.FoldAll"/>. The embedded backend gives the same list without making the carbon postings it folds.
    /// </summary>
    IReadOnlyList<Posting> FoldedPostings(Func<string, bool>? intoSettle = null) => CarbonFold.FoldAll(Postings(), intoSettle);
}

/// <summary>The embedded engine as a backend (postings go to an optional ledger, one batch per call).</summary>
public sealed class EmbeddedBackend(MarketRules rules, SqliteLedger? ledger = null) : ISettlementBackend
{
    private int _deposits;
    private readonly List<Posting> _posted = [];
    // trades whose carbon adjustments were applied (without a ledger) but whose carbon:ID postings are not made yet: they follow
    // _posted, and are made when anything else is posted or the postings are read; FoldedPostings folds them without making them
    private readonly List<TradeRecord> _carbon = [];
    public EscrowEngine Engine { get; } = new(rules);
    public string Name => "embedded";

    public void RegisterMeter(string meter, string owner) => Engine.RegisterMeter(meter, owner);
    public void SetImbalancePrice(long intervalStart, long pricePerMWh) => Engine.SetImbalancePrice(intervalStart, pricePerMWh);

    public Refusal Deposit(string participant, long amount, long now) =>
        Post(Engine.Deposit(participant, amount, EscrowEngine.DepositKey(++_deposits, participant), now));

    public Refusal Open(SignedCommitment commitment, long now) => Post(Engine.Open(commitment, now));
    public Refusal PostReading(SignedReading reading, long now) => Post(Engine.PostReading(reading, now));
    public Refusal PostCarbon(CarbonAdjustment adjustment, long now) => Post(Engine.PostCarbon(adjustment, now));

    /// <summary>The adjustments one by one as <see cref="PostCarbon"/> posts them (same postings, refusals and details), without a result object each.</summary>
    public IReadOnlyList<Refusal> PostCarbonBatch(IReadOnlyList<CarbonAdjustment> adjustments, long now)
    {
        var result = new Refusal[adjustments.Count];
        for (int i = 0; i < result.Length; i++)
        {
            if (ledger is null)
            {
                // the postings are made when they are read (or folded without them)
                result[i] = Engine.ApplyCarbon(adjustments[i], now, out var t, out var detail);
                LastRefusalDetail = detail;
                if (t is not null) _carbon.Add(t);
                continue;
            }
            result[i] = Engine.PostCarbon(adjustments[i], now, out var p, out var message);
            LastRefusalDetail = message;
            if (p is null) continue;
            _posted.Add(p);
            ledger.PostBatch([p]);
        }
        return result;
    }

    /// <summary>Makes the carbon:ID postings of the adjustments applied so far (in their order, after the postings before them).</summary>
    private void MakeCarbonPostings()
    {
        foreach (var t in _carbon) _posted.Add(Engine.CarbonPosting(t));
        _carbon.Clear();
    }

    public IReadOnlyList<Posting> FoldedPostings(Func<string, bool>? intoSettle = null) =>
        _carbon.Count == 0 ? CarbonFold.FoldAll(_posted, intoSettle) : Engine.FoldCarbon(_posted, _carbon, intoSettle);

    public int Advance(long now)
    {
        MakeCarbonPostings();
        var p = Engine.Advance(now);
        _posted.AddRange(p);
        if (p.Count > 0) ledger?.PostBatch(p);
        return p.Count;
    }

    public ParticipantBalance Balance(string p)
    {
        p = Addr.Normalize(p);
        return new(p, Engine.Balance(EscrowEngine.Available(p)), Engine.Balance(EscrowEngine.EscrowAccount(p)),
            Engine.Balance(EscrowEngine.CollateralAccount(p)), Engine.Balance(EscrowEngine.Energy(p), Commodity.EnergyWh));
    }

    public (long, long, long, long) SystemBalances() => (Engine.Balance(EscrowEngine.Deposits), Engine.Balance(EscrowEngine.Imbalance),
        Engine.Balance(EscrowEngine.Imbalance, Commodity.EnergyWh), Engine.Balance(EscrowEngine.Losses, Commodity.EnergyWh));

    public TradeStatus? Trade(string id) => Engine.Trades.TryGetValue(id, out var t)
        ? new TradeStatus(t.Id, t.State, t.DeliveredWh, t.SellerPaid, t.BuyerRefund, t.ImbalanceAmount) : null;

    /// <summary>
    /// Every posting so far (the backend's own list): carbon:ID postings of a batch are made here, when the list is read, so a list
    /// obtained before <see cref="PostCarbonBatch"/> shows them only after the next call (or the next posting).
    /// </summary>
    public IReadOnlyList<Posting> Postings()
    {
        MakeCarbonPostings();
        return _posted;
    }

    public string? LastRefusalDetail { get; private set; }

    private Refusal Post(EngineResult r)
    {
        LastRefusalDetail = r.Accepted ? null : r.Message;
        if (r.Accepted && r.Postings.Count > 0)
        {
            MakeCarbonPostings();
            _posted.AddRange(r.Postings);
            ledger?.PostBatch(r.Postings);
        }
        return r.Refusal;
    }

    public void Dispose() { }
}

/// <summary>
/// A backend cannot be used as configured: <see cref="Option"/> names the setting (e.g. <c>--rpc</c>), the message
/// says what is wrong and <see cref="Fix"/> how to fix it. Thrown before anything is settled.
/// </summary>
public sealed class BackendException(string option, string message, string fix, Exception? inner = null)
    : Exception($"{option}: {message}", inner)
{
    public string Option { get; } = option;
    public string Fix { get; } = fix;
}
