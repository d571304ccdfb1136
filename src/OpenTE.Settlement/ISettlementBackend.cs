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
}

/// <summary>The embedded engine as a backend (postings go to an optional ledger, one batch per call).</summary>
public sealed class EmbeddedBackend(MarketRules rules, SqliteLedger? ledger = null) : ISettlementBackend
{
    private int _deposits;
    public EscrowEngine Engine { get; } = new(rules);
    public string Name => "embedded";

    public void RegisterMeter(string meter, string owner) => Engine.RegisterMeter(meter, owner);
    public void SetImbalancePrice(long intervalStart, long pricePerMWh) => Engine.SetImbalancePrice(intervalStart, pricePerMWh);

    public Refusal Deposit(string participant, long amount, long now) =>
        Post(Engine.Deposit(participant, amount, $"deposit:{++_deposits}:{Addr.Normalize(participant)}", now));

    public Refusal Open(SignedCommitment commitment, long now) => Post(Engine.Open(commitment, now));
    public Refusal PostReading(SignedReading reading, long now) => Post(Engine.PostReading(reading, now));

    public int Advance(long now)
    {
        var p = Engine.Advance(now);
        ledger?.PostBatch(p);
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

    private Refusal Post(EngineResult r)
    {
        if (r.Accepted && r.Postings.Count > 0) ledger?.PostBatch(r.Postings);
        return r.Refusal;
    }

    public void Dispose() { }
}
