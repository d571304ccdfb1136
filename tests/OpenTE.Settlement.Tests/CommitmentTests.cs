namespace OpenTE.Settlement.Tests;

public class CommitmentTests
{
    private static readonly KeyPair B = Keys.People[0], S = Keys.People[1];

    private static TradeCommitment C(ulong nonce = 1, string market = "m1", long q = 2000, long price = 50_000) =>
        new(market, Keys.T0, B.Address, S.Address, q, price, nonce, Keys.T0);

    [Fact]
    public void Keys_round_trip_and_signatures_recover_the_signer()
    {
        var k = KeyPair.Generate();
        var again = KeyPair.FromPrivateKey(k.PrivateKeyHex);
        Assert.Equal(k.Address, again.Address);
        Assert.Matches("^0x[0-9a-f]{40}$", k.Address);
        var d = C().Digest();
        Assert.Equal(k.Address, Addr.Recover(d, k.SignDigest(d)));
        Assert.Null(Addr.Recover(d, "0x1234"));
        Assert.Throws<FormatException>(() => KeyPair.FromPrivateKey("0xzz"));
    }

    [Fact]
    public void Digest_is_abi_encoding_known_layout()
    {
        // The digest must change with every field (each is one abi word), and equal the id.
        var c = C();
        var variants = new[]
        {
            c with { Market = "m2" }, c with { IntervalStart = c.IntervalStart + 900 }, c with { Buyer = S.Address, Seller = B.Address },
            c with { QuantityWh = 2001 }, c with { PricePerMWh = 50_001 }, c with { Nonce = 2 }, c with { Expiry = c.Expiry + 1 },
        };
        var ids = variants.Select(v => v.Id).Append(c.Id).ToHashSet();
        Assert.Equal(variants.Length + 1, ids.Count);
        Assert.Equal(66, c.Id.Length);
        // the type hash is keccak256 of the type string, as Solidity's keccak256(bytes(TYPE))
        Assert.Equal("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", Convert.ToHexStringLower(Addr.Keccak(Array.Empty<byte>())));
    }

    [Fact]
    public void Valid_commitment_opens_and_locks_escrow_and_collateral()
    {
        var e = Keys.Engine();
        var r = e.Open(C().Sign(B, S), Keys.T0 - 10);
        Assert.True(r.Accepted, r.Message);
        Assert.Equal(100, e.Balance(EscrowEngine.EscrowAccount(B.Address)));           // 50 000 × 2000 / 10⁶
        Assert.Equal(1000, e.Balance(EscrowEngine.CollateralAccount(S.Address)));      // cap 500 000 × 2000 / 10⁶
        Assert.Equal(1_000_000 - 100, e.Balance(EscrowEngine.Available(B.Address)));
        Assert.Equal("open:" + C().Id, r.Postings.Single().Key);
    }

    [Fact]
    public void Tampered_replayed_expired_and_wrongly_signed_commitments_are_refused_with_reason()
    {
        var e = Keys.Engine();
        var good = C().Sign(B, S);
        // tampered: quantity changed after signing
        Assert.Equal(Refusal.BadBuyerSignature, e.Open(good with { Commitment = good.Commitment with { QuantityWh = 1 } }, Keys.T0 - 10).Refusal);
        // wrongly signed: seller's signature by a stranger; both signatures swapped
        var stranger = good with { SellerSignature = Keys.Stranger.SignDigest(good.Commitment.Digest()) };
        Assert.Equal(Refusal.BadSellerSignature, e.Open(stranger, Keys.T0 - 10).Refusal);
        Assert.Equal(Refusal.BadBuyerSignature, e.Open(good with { BuyerSignature = good.SellerSignature, SellerSignature = good.BuyerSignature }, Keys.T0 - 10).Refusal);
        Assert.Equal(Refusal.BadBuyerSignature, e.Open(good with { BuyerSignature = "not a signature" }, Keys.T0 - 10).Refusal);
        // expired
        var expired = (C(nonce: 9) with { Expiry = Keys.T0 - 100 }).Sign(B, S);
        Assert.Equal(Refusal.Expired, e.Open(expired, Keys.T0 - 10).Refusal);
        // cross-market
        Assert.Equal(Refusal.WrongMarket, e.Open(C(market: "other").Sign(B, S), Keys.T0 - 10).Refusal);
        // gate closed
        Assert.Equal(Refusal.GateClosed, e.Open(good, Keys.T0).Refusal);
        // accepted once, then replayed
        Assert.True(e.Open(good, Keys.T0 - 10).Accepted);
        var replay = e.Open(good, Keys.T0 - 5);
        Assert.Equal(Refusal.Replay, replay.Refusal);
        Assert.Contains("already", replay.Message);
        // a different commitment reusing the nonce
        Assert.Equal(Refusal.NonceReused, e.Open(C(q: 10).Sign(B, S), Keys.T0 - 10).Refusal);
        // nothing but the one open changed the balances
        Assert.Equal(100, e.Balance(EscrowEngine.EscrowAccount(B.Address)));
    }

    [Fact]
    public void Malleated_high_s_signature_is_refused_like_the_contract()
    {
        var good = C(nonce: 77).Sign(B, S);
        var h = good.BuyerSignature[2..];
        var n = System.Numerics.BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber);
        var sv = System.Numerics.BigInteger.Parse("0" + h.Substring(64, 64), System.Globalization.NumberStyles.HexNumber);
        var twin = (n - sv).ToString("x64")[^64..];
        var v = Convert.ToInt32(h.Substring(128, 2), 16) == 27 ? "1c" : "1b";
        var malleated = "0x" + h[..64] + twin + v;
        Assert.Equal(B.Address, Addr.Recover(good.Commitment.Digest(), good.BuyerSignature));
        Assert.Null(Addr.Recover(good.Commitment.Digest(), malleated));
        Assert.Equal(Refusal.BadBuyerSignature, Keys.Engine().Open(good with { BuyerSignature = malleated }, Keys.T0 - 10).Refusal);
    }

    [Fact]
    public void Funds_overflow_and_fields_are_checked()
    {
        var e = Keys.Engine(deposit: 50);
        Assert.Equal(Refusal.InsufficientBuyerFunds, e.Open(C().Sign(B, S), Keys.T0 - 10).Refusal);
        var rich = Keys.Engine(new MarketRules("m1", ImbalancePriceCap: 0));
        Assert.Equal(Refusal.Overflow, rich.Open(C(q: long.MaxValue / 2, price: 4).Sign(B, S), Keys.T0 - 10).Refusal);
        Assert.Equal(Refusal.InvalidFields, rich.Open(C(q: 0).Sign(B, S), Keys.T0 - 10).Refusal);
        var self = new TradeCommitment("m1", Keys.T0, B.Address, B.Address, 5, 5, 3, Keys.T0);
        Assert.Equal(Refusal.InvalidFields, rich.Open(self.Sign(B, B), Keys.T0 - 10).Refusal);
        Assert.Equal(Refusal.Misaligned, rich.Open((C() with { IntervalStart = Keys.T0 + 1 }).Sign(B, S), Keys.T0 - 10).Refusal);
        var collateral = Keys.Engine(deposit: 200);
        Assert.Equal(Refusal.InsufficientSellerCollateral, collateral.Open(C().Sign(B, S), Keys.T0 - 10).Refusal);
    }

    [Fact]
    public void Money_rounding_rule_is_floor_of_price_times_wh_over_a_million()
    {
        Assert.Equal(75, Money.Amount(50_000, 1500));
        Assert.Equal(0, Money.Amount(999_999, 1));
        Assert.Equal(1, Money.Amount(1_000_000, 1));
        Assert.Equal(1, Money.Amount(1_999_999, 1));
        Assert.Equal(long.MaxValue / 1_000_000, Money.Amount(long.MaxValue, 1));
        Assert.Throws<OverflowException>(() => Money.Amount(long.MaxValue, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Money.Amount(-1, 2));
    }
}
