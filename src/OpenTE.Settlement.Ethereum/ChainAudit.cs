using System.Numerics;
using Nethereum.ABI.FunctionEncoding.Attributes;
using Nethereum.Contracts;
using Nethereum.Hex.HexTypes;
using Nethereum.RPC.Eth.DTOs;
using Nethereum.Web3;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Ethereum;

#pragma warning disable CS8618 // the event DTOs are filled by the decoder
[Event("Deposited")]
public sealed class DepositedEvent : IEventDTO
{
    [Parameter("address", "participant", 1, true)] public string Participant { get; set; }
    [Parameter("uint256", "amount", 2, false)] public BigInteger Amount { get; set; }
}

[Event("Withdrawn")]
public sealed class WithdrawnEvent : IEventDTO
{
    [Parameter("address", "participant", 1, true)] public string Participant { get; set; }
    [Parameter("uint256", "amount", 2, false)] public BigInteger Amount { get; set; }
}

[Event("Opened")]
public sealed class OpenedEvent : IEventDTO
{
    [Parameter("bytes32", "id", 1, true)] public byte[] Id { get; set; }
    [Parameter("address", "buyer", 2, true)] public string Buyer { get; set; }
    [Parameter("address", "seller", 3, true)] public string Seller { get; set; }
    [Parameter("uint64", "interval", 4, false)] public ulong Interval { get; set; }
    [Parameter("uint64", "quantityWh", 5, false)] public ulong QuantityWh { get; set; }
    [Parameter("uint64", "price", 6, false)] public ulong Price { get; set; }
    [Parameter("uint64", "escrow", 7, false)] public ulong Escrow { get; set; }
    [Parameter("uint64", "collateral", 8, false)] public ulong Collateral { get; set; }
}

[Event("Settled")]
public sealed class SettledEvent : IEventDTO
{
    [Parameter("bytes32", "id", 1, true)] public byte[] Id { get; set; }
    [Parameter("address", "buyer", 2, true)] public string Buyer { get; set; }
    [Parameter("address", "seller", 3, true)] public string Seller { get; set; }
    [Parameter("uint64", "deliveredWh", 4, false)] public ulong DeliveredWh { get; set; }
    [Parameter("uint64", "shortfallWh", 5, false)] public ulong ShortfallWh { get; set; }
    [Parameter("uint64", "excessWh", 6, false)] public ulong ExcessWh { get; set; }
    [Parameter("uint64", "lossWh", 7, false)] public ulong LossWh { get; set; }
    [Parameter("uint256", "pay", 8, false)] public BigInteger Pay { get; set; }
    [Parameter("uint256", "refund", 9, false)] public BigInteger Refund { get; set; }
    [Parameter("uint256", "charge", 10, false)] public BigInteger Charge { get; set; }
    [Parameter("uint256", "credit", 11, false)] public BigInteger Credit { get; set; }
    [Parameter("uint256", "collateral", 12, false)] public BigInteger Collateral { get; set; }
}

[Event("CarbonPosted")]
public sealed class CarbonPostedEvent : IEventDTO
{
    [Parameter("bytes32", "id", 1, true)] public byte[] Id { get; set; }
    [Parameter("address", "buyer", 2, true)] public string Buyer { get; set; }
    [Parameter("address", "seller", 3, true)] public string Seller { get; set; }
    [Parameter("int64", "buyerGrams", 4, false)] public long BuyerGrams { get; set; }
    [Parameter("int64", "sellerGrams", 5, false)] public long SellerGrams { get; set; }
    [Parameter("int64", "buyerMoney", 6, false)] public long BuyerMoney { get; set; }
    [Parameter("int64", "sellerMoney", 7, false)] public long SellerMoney { get; set; }
}

[Event("Refunded")]
public sealed class RefundedEvent : IEventDTO
{
    [Parameter("bytes32", "id", 1, true)] public byte[] Id { get; set; }
    [Parameter("address", "buyer", 2, true)] public string Buyer { get; set; }
    [Parameter("address", "seller", 3, true)] public string Seller { get; set; }
    [Parameter("uint256", "escrow", 4, false)] public BigInteger Escrow { get; set; }
    [Parameter("uint256", "collateral", 5, false)] public BigInteger Collateral { get; set; }
}

[Event("ReadingAccepted")]
public sealed class ReadingAcceptedEvent : IEventDTO
{
    [Parameter("address", "meter", 1, true)] public string Meter { get; set; }
    [Parameter("uint64", "interval", 2, true)] public ulong Interval { get; set; }
    [Parameter("uint64", "energyWh", 3, false)] public ulong EnergyWh { get; set; }
}

[Event("ReadingConflict")]
public sealed class ReadingConflictEvent : IEventDTO
{
    [Parameter("address", "meter", 1, true)] public string Meter { get; set; }
    [Parameter("uint64", "interval", 2, true)] public ulong Interval { get; set; }
    [Parameter("uint64", "kept", 3, false)] public ulong Kept { get; set; }
    [Parameter("uint64", "refused", 4, false)] public ulong Refused { get; set; }
}
#pragma warning restore CS8618

/// <summary>What the contract's events say: the rebuilt postings (in block/log order), the trades' outcomes, flagged readings.</summary>
public sealed record ChainHistory(
    IReadOnlyList<Posting> Postings, IReadOnlyDictionary<string, TradeStatus> Trades, IReadOnlyList<string> Conflicts,
    int Events, int ReadingsAccepted, long FromBlock, long ToBlock);

/// <summary>
/// The audit trail of an EnergyEscrow contract: reads its events with eth_getLogs in block and log order and
/// rebuilds the double-entry postings with the engine's own builders (<see cref="EscrowEngine.DepositPosting"/>,
/// <see cref="EscrowEngine.OpenPosting"/>, <see cref="EscrowEngine.SettlePosting"/>, <see cref="EscrowEngine.RefundPosting"/>),
/// so they have the same keys, accounts, commodities and amounts as the embedded engine's for the same trades.
/// Each event alone determines its posting (Settled and Refunded carry buyer, seller and the locked amounts).
/// Deposit and withdrawal keys count the events from <c>fromBlock</c>: start at the deployment block (or 0) to get
/// the engine's keys. A posting's time is its block's timestamp.
/// </summary>
public static class ChainAudit
{
    /// <summary>Blocks per eth_getLogs request (public nodes limit the range).</summary>
    public const long Chunk = 5_000;

    public static ChainHistory Read(string rpcUrl, string contract, long fromBlock = 0, long? toBlock = null) =>
        Read(new Web3(rpcUrl), contract, fromBlock, toBlock);

    public static ChainHistory Read(Web3 web3, string contract, long fromBlock = 0, long? toBlock = null)
    {
        long last = toBlock ?? (long)Sync(web3.Eth.Blocks.GetBlockNumber.SendRequestAsync()).Value;
        var logs = new List<FilterLog>();
        for (long a = fromBlock; a <= last; a += Chunk)
        {
            var filter = new NewFilterInput
            {
                Address = [contract],
                FromBlock = new BlockParameter(new HexBigInteger(a)),
                ToBlock = new BlockParameter(new HexBigInteger(Math.Min(last, a + Chunk - 1))),
            };
            logs.AddRange(Sync(web3.Eth.Filters.GetLogs.SendRequestAsync(filter)));
        }
        logs.Sort((x, y) => x.BlockNumber.Value != y.BlockNumber.Value ? x.BlockNumber.Value.CompareTo(y.BlockNumber.Value) : x.LogIndex.Value.CompareTo(y.LogIndex.Value));

        var times = new Dictionary<BigInteger, long>();
        long Time(FilterLog l)
        {
            if (!times.TryGetValue(l.BlockNumber.Value, out var t))
            {
                var b = Sync(web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber.SendRequestAsync(new BlockParameter(l.BlockNumber)));
                times[l.BlockNumber.Value] = t = (long)b.Timestamp.Value;
            }
            return t;
        }

        var postings = new List<Posting>();
        var trades = new Dictionary<string, TradeStatus>(StringComparer.Ordinal);
        var conflicts = new List<string>();
        long deposits = 0, withdrawals = 0;
        int events = 0, accepted = 0;
        foreach (var l in logs)
        {
            events++;
            if (l.IsLogForEvent<DepositedEvent>())
            {
                var e = l.DecodeEvent<DepositedEvent>().Event;
                var p = Addr.Normalize(e.Participant);
                postings.Add(EscrowEngine.DepositPosting(EscrowEngine.DepositKey(++deposits, p), p, L(e.Amount), Time(l)));
            }
            else if (l.IsLogForEvent<WithdrawnEvent>())
            {
                var e = l.DecodeEvent<WithdrawnEvent>().Event;
                var p = Addr.Normalize(e.Participant);
                postings.Add(EscrowEngine.WithdrawPosting(EscrowEngine.WithdrawKey(++withdrawals, p), p, L(e.Amount), Time(l)));
            }
            else if (l.IsLogForEvent<OpenedEvent>())
            {
                var e = l.DecodeEvent<OpenedEvent>().Event;
                var id = Id(e.Id);
                postings.Add(EscrowEngine.OpenPosting(id, Addr.Normalize(e.Buyer), Addr.Normalize(e.Seller), L(e.Escrow), L(e.Collateral), Time(l)));
                trades[id] = new TradeStatus(id, TradeState.Open, 0, 0, 0, 0);
            }
            else if (l.IsLogForEvent<SettledEvent>())
            {
                var e = l.DecodeEvent<SettledEvent>().Event;
                var id = Id(e.Id);
                var a = new SettleAmounts(L(e.DeliveredWh), L(e.ShortfallWh), L(e.ExcessWh), L(e.LossWh), L(e.Pay), L(e.Refund), L(e.Charge), L(e.Credit));
                postings.Add(EscrowEngine.SettlePosting(id, Addr.Normalize(e.Buyer), Addr.Normalize(e.Seller), L(e.Collateral), a, Time(l)));
                trades[id] = new TradeStatus(id, TradeState.Settled, a.DeliveredWh, a.Pay, a.Refund, checked(a.Credit - a.Charge));
            }
            else if (l.IsLogForEvent<RefundedEvent>())
            {
                var e = l.DecodeEvent<RefundedEvent>().Event;
                var id = Id(e.Id);
                postings.Add(EscrowEngine.RefundPosting(id, Addr.Normalize(e.Buyer), Addr.Normalize(e.Seller), L(e.Escrow), L(e.Collateral), Time(l)));
                trades[id] = new TradeStatus(id, TradeState.Refunded, 0, 0, L(e.Escrow), 0);
            }
            else if (l.IsLogForEvent<CarbonPostedEvent>())
            {
                var e = l.DecodeEvent<CarbonPostedEvent>().Event;
                var id = Id(e.Id);
                postings.Add(EscrowEngine.CarbonPosting(id, Addr.Normalize(e.Buyer), Addr.Normalize(e.Seller),
                    new CarbonAdjustment(id, e.BuyerGrams, e.SellerGrams, e.BuyerMoney, e.SellerMoney), Time(l)));
            }
            else if (l.IsLogForEvent<ReadingConflictEvent>())
            {
                var e = l.DecodeEvent<ReadingConflictEvent>().Event;
                conflicts.Add($"meter {Addr.Normalize(e.Meter)} interval {e.Interval}: kept {e.Kept} Wh, refused {e.Refused} Wh");
            }
            else if (l.IsLogForEvent<ReadingAcceptedEvent>()) accepted++;
        }
        return new ChainHistory(postings, trades, conflicts, events, accepted, fromBlock, last);
    }

    private static string Id(byte[] id) => "0x" + Convert.ToHexStringLower(id);

    private static long L(BigInteger v) => v >= 0 && v <= long.MaxValue ? (long)v
        : throw new InvalidDataException($"an event amount ({v}) does not fit in a signed 64-bit integer (not written by EnergyEscrow?)");

    private static long L(ulong v) => v <= long.MaxValue ? (long)v
        : throw new InvalidDataException($"an event amount ({v}) does not fit in a signed 64-bit integer (not written by EnergyEscrow?)");

    private static T Sync<T>(Task<T> t) => t.GetAwaiter().GetResult();
}
