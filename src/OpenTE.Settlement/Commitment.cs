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

/// <summary>A meter's (oracle's) signed reading: energy exported by the meter in one interval, in Wh.</summary>
public sealed record MeterReading(string Market, string Meter, long IntervalStart, long EnergyWh)
{
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

public sealed record SignedReading(MeterReading Reading, string Signature);
