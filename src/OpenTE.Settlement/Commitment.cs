namespace OpenTE.Settlement;

/// <summary>
/// What a buyer and a seller agree to: <paramref name="QuantityWh"/> Wh delivered in the interval starting at
/// <paramref name="IntervalStart"/> (unix seconds) at <paramref name="PricePerMWh"/> minor currency units per MWh.
/// <paramref name="Nonce"/> makes each commitment unique per signer; it must be opened before <paramref name="Expiry"/> (unix seconds).
/// </summary>
public sealed record TradeCommitment(
    string Market, long IntervalStart, string Buyer, string Seller,
    long QuantityWh, long PricePerMWh, ulong Nonce, long Expiry)
{
    public const string TypeString =
        "OpenTE.TradeCommitment(bytes32 market,uint64 interval,address buyer,address seller,uint64 quantityWh,uint64 pricePerMWh,uint64 nonce,uint64 expiry)";

    private static readonly byte[] TypeHash = Addr.Keccak(TypeString);

    /// <summary>keccak256(abi.encode(TYPEHASH, keccak256(market), interval, buyer, seller, quantityWh, pricePerMWh, nonce, expiry)); the trade id.</summary>
    public byte[] Digest()
    {
        if (IntervalStart < 0 || QuantityWh < 0 || PricePerMWh < 0 || Expiry < 0)
            throw new ArgumentOutOfRangeException(nameof(QuantityWh), "commitment fields must be ≥ 0");
        return new Addr.AbiWriter().Bytes32(TypeHash).Bytes32(Addr.Keccak(Market)).UInt((ulong)IntervalStart)
            .Address(Buyer).Address(Seller).UInt((ulong)QuantityWh).UInt((ulong)PricePerMWh).UInt(Nonce).UInt((ulong)Expiry)
            .Keccak();
    }

    public string Id => "0x" + Convert.ToHexStringLower(Digest());

    public SignedCommitment Sign(KeyPair buyer, KeyPair seller)
    {
        var d = Digest();
        return new SignedCommitment(this, buyer.SignDigest(d), seller.SignDigest(d));
    }
}

public sealed record SignedCommitment(TradeCommitment Commitment, string BuyerSignature, string SellerSignature);

/// <summary>
/// What a meter (the oracle) signs for the settlement: the energy its <see cref="OpenTE.Grid.Metering.MeterReading"/>
/// exported in one interval, in Wh, for one market, from the meter's address. The type string (and so the signed digest)
/// keeps its name "MeterReading": the contract checks the same bytes.
/// </summary>
public sealed record OracleReading(string Market, string Meter, long IntervalStart, long EnergyWh)
{
    /// <summary>
    /// The oracle statement of a meter reading: its export in Wh (kWh × 1000, half away from zero) at the interval's start
    /// (unix seconds). Refuses a reading with a negative or non-finite export or one that does not fit 64 bits.
    /// </summary>
    public static OracleReading From(OpenTE.Grid.Metering.MeterReading r, string market, string meterAddress)
    {
        if (!double.IsFinite(r.ExportKwh) || r.ExportKwh < 0 || r.ExportKwh > 9e12)
            throw new ArgumentOutOfRangeException(nameof(r), $"meter {r.Meter} at {r.Start:O}: export {r.ExportKwh} kWh is not a finite energy ≥ 0");
        return new OracleReading(market, meterAddress, r.Start.ToUnixTimeSeconds(), checked((long)Math.Round(r.ExportKwh * 1000, MidpointRounding.AwayFromZero)));
    }

    public const string TypeString = "OpenTE.MeterReading(bytes32 market,address meter,uint64 interval,uint64 energyWh)";
    private static readonly byte[] TypeHash = Addr.Keccak(TypeString);

    public byte[] Digest()
    {
        if (IntervalStart < 0 || EnergyWh < 0) throw new ArgumentOutOfRangeException(nameof(EnergyWh), "reading fields must be ≥ 0");
        return new Addr.AbiWriter().Bytes32(TypeHash).Bytes32(Addr.Keccak(Market)).Address(Meter)
            .UInt((ulong)IntervalStart).UInt((ulong)EnergyWh).Keccak();
    }

    public SignedReading Sign(KeyPair meter) => new(this, meter.SignDigest(Digest()));
}

public sealed record SignedReading(OracleReading Reading, string Signature);
