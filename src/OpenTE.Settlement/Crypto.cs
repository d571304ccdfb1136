using System.Text;
using Nethereum.Signer;
using Nethereum.Util;

namespace OpenTE.Settlement;

/// <summary>
/// A secp256k1 key pair of a participant or a meter (oracle). The identity is the Ethereum address
/// (lower-case 0x-hex), so the same keys sign commitments for the embedded engine and for a contract
/// that checks them with <c>ecrecover</c>.
/// </summary>
public sealed class KeyPair
{
    static KeyPair() => EthECKey.SignRecoverable = true;

    private readonly EthECKey _key;

    private KeyPair(EthECKey key)
    {
        _key = key;
        Address = Addr.Normalize(key.GetPublicAddress());
    }

    public string Address { get; }

    /// <summary>The private key as 0x-hex (64 hex digits). Keep it secret.</summary>
    public string PrivateKeyHex => "0x" + _key.GetPrivateKey().Replace("0x", "", StringComparison.Ordinal).PadLeft(64, '0');

    public static KeyPair Generate() => new(EthECKey.GenerateKey());

    public static KeyPair FromPrivateKey(string hex)
    {
        var h = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (h.Length != 64 || !h.All(Uri.IsHexDigit)) throw new FormatException("a private key is 64 hex digits");
        return new KeyPair(new EthECKey(h));
    }

    /// <summary>Signs a 32-byte digest the Ethereum way (keccak256("\x19Ethereum Signed Message:\n32" ‖ digest)); 65-byte r‖s‖v as 0x-hex.</summary>
    public string SignDigest(byte[] digest32)
    {
        if (digest32.Length != 32) throw new ArgumentException("digest must be 32 bytes", nameof(digest32));
        return new EthereumMessageSigner().Sign(digest32, _key);
    }
}

/// <summary>Addresses, Keccak and the ABI-style encoding (each field one 32-byte big-endian word) used for digests.</summary>
public static class Addr
{
    private const string HalfOrder = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";

    public static string Normalize(string address)
    {
        if (!IsAddress(address)) throw new FormatException($"'{address}' is not an address (0x and 40 hex digits)");
        return "0x" + address[2..].ToLowerInvariant();
    }

    public static bool IsAddress(string s) =>
        s.Length == 42 && s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && s.AsSpan(2).ToString().All(Uri.IsHexDigit);

    public static byte[] Keccak(byte[] data) => Sha3Keccack.Current.CalculateHash(data);

    public static byte[] Keccak(string utf8) => Keccak(Encoding.UTF8.GetBytes(utf8));

    /// <summary>Recovers the signer's address of an Ethereum-signed 32-byte digest, or null for a malformed signature.</summary>
    public static string? Recover(byte[] digest32, string signatureHex)
    {
        try
        {
            var h = signatureHex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? signatureHex[2..] : signatureHex;
            if (h.Length != 130 || !h.All(Uri.IsHexDigit)) return null;
            // only low-s signatures (EIP-2), as the contract's check: no malleated twin of a valid signature
            if (string.CompareOrdinal(h.Substring(64, 64).ToLowerInvariant(), HalfOrder) > 0) return null;
            // v is 27 or 28 (as ecrecover accepts); r and s are not zero
            if (h[128..].ToLowerInvariant() is not ("1b" or "1c") || h[..64].All(c => c == '0') || h[64..128].All(c => c == '0')) return null;
            return Normalize(new EthereumMessageSigner().EcRecover(digest32, signatureHex));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // the signer library throws plain Exception ("Header byte out of range") or NullReferenceException on some malformed signatures
        }
    }

    /// <summary>abi.encode of 32-byte words: used for the commitment and meter-reading digests.</summary>
    internal sealed class AbiWriter
    {
        private readonly MemoryStream _s = new();

        public AbiWriter Bytes32(byte[] b)
        {
            if (b.Length != 32) throw new ArgumentException("bytes32 expected");
            _s.Write(b);
            return this;
        }

        public AbiWriter Address(string a)
        {
            _s.Write(new byte[12]);
            _s.Write(Convert.FromHexString(Normalize(a)[2..]));
            return this;
        }

        public AbiWriter UInt(ulong v)
        {
            var w = new byte[32];
            for (int i = 0; i < 8; i++) w[31 - i] = (byte)(v >> (8 * i));
            _s.Write(w);
            return this;
        }

        public byte[] Keccak() => Addr.Keccak(_s.ToArray());
    }
}

/// <summary>The one rounding rule for money: price (minor units per MWh) × energy (Wh) / 10⁶, rounded down.</summary>
public static class Money
{
    public const long WhPerMWh = 1_000_000;

    /// <summary>
    /// floor(pricePerMWh × wh / 10⁶) with both factors ≥ 0; the product must fit in a signed 64-bit integer
    /// (else <see cref="OverflowException"/>), which is the same limit the contract enforces.
    /// </summary>
    public static long Amount(long pricePerMWh, long wh)
    {
        if (pricePerMWh < 0 || wh < 0) throw new ArgumentOutOfRangeException(nameof(pricePerMWh), "price and energy must be ≥ 0");
        return checked(pricePerMWh * wh) / WhPerMWh;
    }
}
