using Microsoft.Data.Sqlite;

namespace OpenTE.Settlement.Ledger;

/// <summary>SQLite's synchronous setting for the journal (always in WAL mode).</summary>
public enum Durability
{
    /// <summary>synchronous=FULL: the WAL is fsynced at every commit, so an acknowledged batch survives a process crash and a power loss.</summary>
    Full,
    /// <summary>synchronous=NORMAL: survives a process crash; the last commits may be lost on power loss. For tests and bulk loads only.</summary>
    Normal,
}

/// <summary>The outcome of <see cref="SqliteLedger.Verify"/>: <see cref="FirstBadIndex"/> is the 1-based index of the first bad entry.</summary>
public sealed record VerifyResult(bool Ok, long Entries, long? FirstBadIndex, string? Reason, string HeadHash);

/// <summary>
/// The append-only, hash-chained double-entry journal in one SQLite file. Each row holds the canonical
/// encoding of a <see cref="Posting"/> (<see cref="Posting.Encode"/>), the previous entry's hash and its own
/// hash = SHA-256(prev ‖ encoding). Postings are written in batches, one transaction each; a batch is
/// acknowledged (the method returns) only after the commit, which with <see cref="Durability.Full"/> has
/// fsynced the WAL. Posting keys are unique: a posting whose key is already in the journal is skipped.
/// </summary>
public sealed class SqliteLedger : IDisposable
{
    private static readonly byte[] Zero = new byte[32];

    private readonly SqliteConnection _db;
    private readonly SqliteCommand _exists, _insert;
    private long _seq;
    private byte[] _head;

    public string Path { get; }
    public long Count => _seq;
    public string HeadHash => Convert.ToHexStringLower(_head);

    private SqliteLedger(string path, SqliteConnection db)
    {
        Path = path;
        _db = db;
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1";
            using var r = cmd.ExecuteReader();
            if (r.Read())
            {
                _seq = r.GetInt64(0);
                _head = (byte[])r.GetValue(1);
            }
            else
            {
                _head = Zero;
            }
        }
        _exists = db.CreateCommand();
        _exists.CommandText = "SELECT 1 FROM journal WHERE key = $k";
        _exists.Parameters.Add("$k", SqliteType.Text);
        _insert = db.CreateCommand();
        _insert.CommandText = "INSERT INTO journal(seq, key, entry, prev, hash) VALUES ($s, $k, $e, $p, $h)";
        foreach (var (n, t) in new[] { ("$s", SqliteType.Integer), ("$k", SqliteType.Text), ("$e", SqliteType.Blob), ("$p", SqliteType.Blob), ("$h", SqliteType.Blob) })
            _insert.Parameters.Add(n, t);
    }

    public static SqliteLedger Open(string path, Durability durability = Durability.Full)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText =
                "PRAGMA journal_mode=WAL;" +
                $"PRAGMA synchronous={(durability == Durability.Full ? "FULL" : "NORMAL")};" +
                "CREATE TABLE IF NOT EXISTS journal(seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, " +
                "entry BLOB NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);";
            cmd.ExecuteNonQuery();
            return new SqliteLedger(path, db);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    public bool Contains(string key)
    {
        _exists.Parameters["$k"].Value = key;
        return _exists.ExecuteScalar() is not null;
    }

    /// <summary>Posts one posting in its own transaction; false when its key was already posted.</summary>
    public bool Post(Posting p) => PostBatch([p]) == 1;

    /// <summary>
    /// Posts a batch in one transaction (all or nothing) and returns how many were new. Throws
    /// <see cref="ArgumentException"/> for an unbalanced posting (nothing of the batch is written).
    /// </summary>
    public int PostBatch(IReadOnlyList<Posting> batch)
    {
        foreach (var p in batch)
            if (!p.IsBalanced) throw new ArgumentException($"posting '{p.Key}' is not balanced (Σ debit ≠ Σ credit per commodity)");
        long seq = _seq;
        byte[] head = _head;
        int added = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var tx = _db.BeginTransaction();
        _exists.Transaction = tx;
        _insert.Transaction = tx;
        foreach (var p in batch)
        {
            if (!seen.Add(p.Key) || Contains(p.Key)) continue;
            seq++;
            var enc = p.Encode(seq);
            var h = Posting.ChainHash(head, enc);
            _insert.Parameters["$s"].Value = seq;
            _insert.Parameters["$k"].Value = p.Key;
            _insert.Parameters["$e"].Value = enc;
            _insert.Parameters["$p"].Value = head;
            _insert.Parameters["$h"].Value = h;
            _insert.ExecuteNonQuery();
            head = h;
            added++;
        }
        tx.Commit();
        _exists.Transaction = null;
        _insert.Transaction = null;
        _seq = seq;
        _head = head;
        return added;
    }

    /// <summary>All postings in journal order (decoded; no chain check: use <see cref="Verify"/> for that).</summary>
    public static IEnumerable<Posting> Read(string path)
    {
        using var db = OpenReadOnly(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT entry FROM journal ORDER BY seq";
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return Posting.Decode((byte[])r.GetValue(0)).Posting;
    }

    /// <summary>Balance per (account, commodity): Σ of its line amounts (debits positive).</summary>
    public static SortedDictionary<(string Account, Commodity Commodity), long> Balances(string path)
    {
        var b = new SortedDictionary<(string, Commodity), long>();
        foreach (var p in Read(path))
            foreach (var l in p.Lines)
                b[(l.Account, l.Commodity)] = checked(b.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount);
        return b;
    }

    /// <summary>
    /// Checks the whole journal: entries numbered 1, 2, … without gaps, each row's stored key, sequence
    /// number, previous hash and hash agree with its canonical encoding and its predecessor, and every
    /// posting is balanced. Reports the first bad entry (1-based). A file SQLite cannot read fails at the
    /// entry after the last good one. Removing entries from the end is detected only against a head hash
    /// recorded elsewhere (<paramref name="expectedHead"/>, <paramref name="expectedCount"/>).
    /// </summary>
    public static VerifyResult Verify(string path, string? expectedHead = null, long? expectedCount = null)
    {
        byte[] prev = Zero;
        long i = 0;
        try
        {
            using var db = OpenReadOnly(path);
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT seq, key, entry, prev, hash FROM journal ORDER BY seq";
            using var r = cmd.ExecuteReader();
            while (true)
            {
                bool more;
                try
                {
                    more = r.Read();
                }
                catch (SqliteException e)
                {
                    return Bad(i + 1, $"the database cannot be read there ({e.SqliteErrorCode}: {e.Message})", prev);
                }
                if (!more) break;
                i++;
                long seq = r.GetInt64(0);
                if (seq != i) return Bad(i, seq > i ? $"entry {i} is missing (next stored entry is {seq})" : $"entry numbered {seq} is out of order", prev);
                if (r.GetValue(2) is not byte[] enc || r.GetValue(3) is not byte[] sprev || r.GetValue(4) is not byte[] shash || r.GetValue(1) is not string key)
                    return Bad(i, "a column has the wrong type", prev);
                Posting p;
                long encSeq;
                try
                {
                    (encSeq, p) = Posting.Decode(enc);
                }
                catch (FormatException e)
                {
                    return Bad(i, $"the entry cannot be decoded ({e.Message})", prev);
                }
                if (encSeq != i) return Bad(i, $"the entry says it is number {encSeq} (moved or reordered)", prev);
                if (p.Key != key) return Bad(i, "the key column does not match the entry", prev);
                if (!sprev.AsSpan().SequenceEqual(prev)) return Bad(i, "the previous-hash does not match the preceding entry", prev);
                var h = Posting.ChainHash(prev, enc);
                if (!shash.AsSpan().SequenceEqual(h)) return Bad(i, "the hash does not match the entry (changed)", prev);
                if (!p.IsBalanced) return Bad(i, "the posting is not balanced", prev);
                prev = h;
            }
        }
        catch (SqliteException e)
        {
            return Bad(i + 1, $"the database cannot be read ({e.SqliteErrorCode}: {e.Message})", prev);
        }
        var head = Convert.ToHexStringLower(prev);
        if (expectedCount is { } n && n != i)
            return new VerifyResult(false, i, Math.Min(i, n) + 1, $"expected {n} entries, found {i}", head);
        if (expectedHead is not null && !string.Equals(expectedHead, head, StringComparison.OrdinalIgnoreCase))
            return new VerifyResult(false, i, i, "the head hash differs from the expected one", head);
        return new VerifyResult(true, i, null, null, head);

        VerifyResult Bad(long index, string reason, byte[] lastGood) =>
            new(false, index - 1, index, reason, Convert.ToHexStringLower(lastGood));
    }

    private static SqliteConnection OpenReadOnly(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException("no ledger file", path);
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly,
        }.ToString());
        db.Open();
        return db;
    }

    public void Dispose()
    {
        _exists.Dispose();
        _insert.Dispose();
        _db.Dispose();
    }
}
