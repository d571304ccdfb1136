using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OpenTE.Settlement.Ledger;

/// <summary>What a line counts: money in integer minor currency units, energy in Wh, or emissions in grams CO₂.</summary>
public enum Commodity : byte { Money = 0, EnergyWh = 1, Co2Grams = 2 }

/// <summary>
/// One line of a posting. <see cref="Amount"/> &gt; 0 is a debit (the account receives), &lt; 0 a credit
/// (the account gives). A posting is balanced when the amounts of each commodity sum to zero.
/// </summary>
public readonly record struct Line(string Account, Commodity Commodity, long Amount);

/// <summary>
/// One journal entry. <see cref="Key"/> is its idempotency key: a posting with a key already in the
/// journal is not posted again. <see cref="Time"/> is the engine's clock (unix seconds).
/// </summary>
public sealed record Posting(string Key, string Kind, long Time, IReadOnlyList<Line> Lines)
{
    /// <summary>Σ amount per commodity is zero (checked arithmetic: an overflowing posting is unbalanced).</summary>
    public bool IsBalanced
    {
        get
        {
            try
            {
                long money = 0, energy = 0, co2 = 0;
                return Sum(Lines, ref money, ref energy, ref co2) && money == 0 && energy == 0 && co2 == 0;
            }
            catch (OverflowException)
            {
                return false;
            }
        }
    }

    /// <summary>Adds the lines' amounts per commodity (checked); false for a commodity that is none of the three.</summary>
    private static bool Sum(IReadOnlyList<Line> lines, ref long money, ref long energy, ref long co2)
    {
        // a folded settlement: its two parts (not each line through the join's indexer); else by index, not by the interface's
        // enumerator (an allocation per posting)
        if (lines is CarbonFold.Joined j) return Sum(j.A, ref money, ref energy, ref co2) && Sum(j.B, ref money, ref energy, ref co2);
        for (int i = 0; i < lines.Count; i++)
        {
            var l = lines[i];
            if (l.Commodity == Commodity.Money) money = checked(money + l.Amount);
            else if (l.Commodity == Commodity.EnergyWh) energy = checked(energy + l.Amount);
            else if (l.Commodity == Commodity.Co2Grams) co2 = checked(co2 + l.Amount);
            else return false;
        }
        return true;
    }

    /// <summary>
    /// The canonical encoding that is stored and hashed: "OTE1", seq (u64 BE), time (i64 BE),
    /// key, kind (each u16 BE length + UTF-8), line count (u32 BE), then per line account (u16 + UTF-8),
    /// commodity (1 byte), amount (i64 BE).
    /// </summary>
    public byte[] Encode(long seq)
    {
        var lines = new Line[Lines.Count];
        CopyLines(Lines, lines);
        return Encode(seq, lines, default);
    }

    /// <summary>
    /// <see cref="Encode(long)"/> with the posting's lines given as a span (a copy the caller already made) and each line's
    /// account already in UTF-8 (<paramref name="accounts"/>[i] is line i's, or null when it is too long for the encoding:
    /// refused as in <see cref="Encode(long)"/>); an empty span: encoded here. The bytes are the same.
    /// </summary>
    internal byte[] Encode(long seq, ReadOnlySpan<Line> lines, ReadOnlySpan<byte[]?> accounts)
    {
        bool given = accounts.Length > 0;
        if (given && accounts.Length != lines.Length) throw new ArgumentException("internal: one encoded account per line");
        int size = 4 + 8 + 8 + StrSize(Key) + StrSize(Kind) + 4;
        for (int i = 0; i < lines.Length; i++)
            size += (given ? 2 + (accounts[i] ?? throw TooLong()).Length : StrSize(lines[i].Account)) + 1 + 8;
        var b = new byte[size];
        var w = new SpanWriter(b);
        w.Bytes("OTE1"u8);
        w.I64(seq);
        w.I64(Time);
        w.Str(Key);
        w.Str(Kind);
        w.U32((uint)lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            ref readonly var l = ref lines[i];
            if (given) w.Utf8(accounts[i]!);
            else w.Str(l.Account);
            w.Byte((byte)l.Commodity);
            w.I64(l.Amount);
        }
        if (w.Written != size) throw new InvalidOperationException("internal: encoding size");
        return b;
    }

    private static ArgumentException TooLong() => new("string too long for the ledger encoding");

    /// <summary>Copies a posting's lines into <paramref name="dst"/> (at least Count long): through the array of the usual list types and the parts of a folded settlement, else by index.</summary>
    internal static void CopyLines(IReadOnlyList<Line> lines, Span<Line> dst)
    {
        switch (lines)
        {
            case Line[] a: a.CopyTo(dst); break;
            case List<Line> l: System.Runtime.InteropServices.CollectionsMarshal.AsSpan(l).CopyTo(dst); break;
            case CarbonFold.Joined j: // a folded settlement: each part as itself (not each line through the join's indexer)
                CopyLines(j.A, dst);
                CopyLines(j.B, dst[j.A.Count..]);
                break;
            default:
                for (int i = 0; i < lines.Count; i++) dst[i] = lines[i];
                break;
        }
    }

    private static int StrSize(string s)
    {
        int len = Encoding.UTF8.GetByteCount(s);
        if (len > ushort.MaxValue) throw TooLong();
        return 2 + len;
    }

    /// <summary>Decodes <see cref="Encode"/>; throws <see cref="FormatException"/> on any malformed byte.</summary>
    public static (long Seq, Posting Posting) Decode(byte[] data)
    {
        var r = new Reader(data);
        if (!r.Take(4).SequenceEqual("OTE1"u8)) throw new FormatException("bad magic");
        long seq = r.I64();
        long time = r.I64();
        string key = r.Str();
        string kind = r.Str();
        uint n = r.U32();
        if (n > 10_000) throw new FormatException("too many lines");
        var lines = new Line[n];
        for (int i = 0; i < n; i++)
        {
            string acct = r.Str();
            byte c = r.Byte();
            if (c > 2) throw new FormatException("bad commodity");
            lines[i] = new Line(acct, (Commodity)c, r.I64());
        }
        if (!r.AtEnd) throw new FormatException("trailing bytes");
        return (seq, new Posting(key, kind, time, lines));
    }

    /// <summary>hash = SHA-256(previous hash ‖ canonical encoding); the first entry's previous hash is 32 zero bytes.</summary>
    public static byte[] ChainHash(ReadOnlySpan<byte> prev, ReadOnlySpan<byte> encoded)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(prev);
        h.AppendData(encoded);
        return h.GetHashAndReset();
    }

    private ref struct SpanWriter(Span<byte> b)
    {
        private readonly Span<byte> _b = b;
        private int _n;

        public readonly int Written => _n;

        private Span<byte> Take(int k)
        {
            var s = _b.Slice(_n, k);
            _n += k;
            return s;
        }

        public void Bytes(ReadOnlySpan<byte> v) => v.CopyTo(Take(v.Length));
        public void Byte(byte v) => Take(1)[0] = v;
        public void I64(long v) => BinaryPrimitives.WriteInt64BigEndian(Take(8), v);
        public void U32(uint v) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), v);

        /// <summary>A string already in UTF-8 (at most <see cref="ushort.MaxValue"/> bytes): u16 BE length + the bytes, as <see cref="Str"/>.</summary>
        public void Utf8(ReadOnlySpan<byte> v)
        {
            BinaryPrimitives.WriteUInt16BigEndian(Take(2), (ushort)v.Length);
            v.CopyTo(Take(v.Length));
        }

        public void Str(string s)
        {
            int len = Encoding.UTF8.GetByteCount(s);
            BinaryPrimitives.WriteUInt16BigEndian(Take(2), (ushort)len);
            Encoding.UTF8.GetBytes(s, Take(len));
        }
    }

    private ref struct Reader(byte[] data)
    {
        private readonly byte[] _d = data;
        private int _p;

        public readonly bool AtEnd => _p == _d.Length;

        public ReadOnlySpan<byte> Take(int k)
        {
            if (k < 0 || _p + k > _d.Length) throw new FormatException("truncated entry");
            var s = _d.AsSpan(_p, k);
            _p += k;
            return s;
        }

        public byte Byte() => Take(1)[0];
        public long I64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));
        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public string Str()
        {
            int len = BinaryPrimitives.ReadUInt16BigEndian(Take(2));
            try
            {
                return new UTF8Encoding(false, true).GetString(Take(len));
            }
            catch (ArgumentException e)
            {
                throw new FormatException("bad UTF-8", e);
            }
        }
    }
}
