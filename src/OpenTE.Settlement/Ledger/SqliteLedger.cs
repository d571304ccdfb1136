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
public sealed record VerifyResult(bool Ok, long Entries, long? FirstBadIndex, string? Reason, string HeadHash,
    string? Signer = null, long? SignedEntries = null);

/// <summary>
/// The ledger refuses a posting that would break a rule of the books: an escrow or collateral account below 0, or a
/// second final state (settle and refund) for one trade. Nothing of the batch is written. Exit code 2 in the CLI.
/// </summary>
public sealed class LedgerRefusedException(string path, string message, string hint)
    : OpenTE.Grid.Input.InputException(path, 0, message, hint);

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
    private readonly SqliteCommand _exists, _insert, _balance;
    private readonly KeyPair? _signer;
    private long _seq;
    private byte[] _head;
    /// <summary>
    /// The accounts this instance has seen, interned by name (ordinal): account i's name, its UTF-8 encoding (null when too long
    /// for the journal encoding, which then refuses it as before), whether it is an escrow or collateral account, and per
    /// (account, commodity) a slot i * 3 + commodity in the arrays below. One string lookup per journal line instead of three or
    /// four lookups by (name, commodity) (each hashing the name); the encoding and the balance upserts reuse the UTF-8 bytes.
    /// </summary>
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private string[] _names = new string[64];
    private byte[]?[] _utf8 = new byte[]?[64];
    private bool[] _locked = new bool[64];
    /// <summary>
    /// The balances this instance wrote or read, as of (<see cref="_seq"/>, <see cref="_head"/>): slot s is known when
    /// _knownEpoch[s] == <see cref="_knownNow"/>. Valid while the journal's head is still that one when the next batch's
    /// transaction starts (no other writer appended since: every writer appends through PostBatch, which writes journal and
    /// balances in one transaction); otherwise dropped (a new epoch) and re-read from the table.
    /// </summary>
    private long[] _known = new long[192];
    private int[] _knownEpoch = new int[192];
    private int _knownNow = 1;
    /// <summary>The running balances of the batch being posted: slot s is the batch's when _batchEpoch[s] == <see cref="_batchNow"/>; <see cref="_touched"/> lists those slots in first-touch order.</summary>
    private long[] _batch = new long[192];
    private int[] _batchEpoch = new int[192];
    private int _batchNow;
    private readonly List<int> _touched = [];
    private const int KnownMax = 1_000_000;
    /// <summary>The balance upsert, prepared once on the connection's handle and bound by index (the per-row cost is the lion's share of a balance write).</summary>
    private SQLitePCL.sqlite3_stmt? _upsert;

    /// <summary>The address that signs a checkpoint at the end of every write batch (null: the batches are not signed).</summary>
    public string? Signer => _signer?.Address;

    public string Path { get; }
    public long Count => _seq;
    public string HeadHash => Convert.ToHexStringLower(_head);

    private SqliteLedger(string path, SqliteConnection db, KeyPair? signer)
    {
        Path = path;
        _db = db;
        _signer = signer;
        (_seq, _head) = ReadHead();
        _exists = db.CreateCommand();
        _exists.CommandText = "SELECT 1 FROM journal WHERE key = $k";
        _exists.Parameters.Add("$k", SqliteType.Text);
        _insert = db.CreateCommand();
        _insert.CommandText = "INSERT INTO journal(seq, key, entry, prev, hash) VALUES ($s, $k, $e, $p, $h)";
        foreach (var (n, t) in new[] { ("$s", SqliteType.Integer), ("$k", SqliteType.Text), ("$e", SqliteType.Blob), ("$p", SqliteType.Blob), ("$h", SqliteType.Blob) })
            _insert.Parameters.Add(n, t);
        _balance = db.CreateCommand();
        _balance.CommandText = "SELECT amount FROM balance WHERE account = $a AND commodity = $c";
        _balance.Parameters.Add("$a", SqliteType.Text);
        _balance.Parameters.Add("$c", SqliteType.Integer);
    }

    /// <summary>
    /// Opens (creates) the ledger file. With <paramref name="signer"/> (the operator's key) every write batch ends with a
    /// signed checkpoint (entry count, head hash) in the same transaction; a ledger that already holds checkpoints can
    /// only be written with its signer's key (else the new entries would follow the checkpoint unsigned).
    /// </summary>
    public static SqliteLedger Open(string path, Durability durability = Durability.Full, KeyPair? signer = null)
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
                "entry BLOB NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);" +
                "CREATE TABLE IF NOT EXISTS balance(account TEXT NOT NULL, commodity INTEGER NOT NULL, amount INTEGER NOT NULL, " +
                "PRIMARY KEY(account, commodity));" +
                "CREATE TABLE IF NOT EXISTS checkpoint(seq INTEGER PRIMARY KEY, head BLOB NOT NULL, signer TEXT NOT NULL, signature TEXT NOT NULL);";
            cmd.ExecuteNonQuery();
            var l = new SqliteLedger(path, db, signer);
            l.EnsureBalances();
            return l;
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
    /// <see cref="ArgumentException"/> for an unbalanced posting and <see cref="LedgerRefusedException"/> for a posting
    /// that would take an escrow or collateral account below 0 or give a trade a second final state (settle and refund);
    /// nothing of the batch is written then. The transaction is <c>BEGIN IMMEDIATE</c> and re-reads the sequence number,
    /// the head hash and the balances inside it, so writers in several processes serialise and all succeed.
    /// </summary>
    public int PostBatch(IReadOnlyList<Posting> batch)
    {
        foreach (var p in batch)
            if (!p.IsBalanced) throw new ArgumentException($"posting '{p.Key}' is not balanced (Σ debit ≠ Σ credit per commodity)");
        int added = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var tx = _db.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the write lock is taken before anything is read
        _exists.Transaction = tx;
        _insert.Transaction = tx;
        _balance.Transaction = tx;
        try
        {
            var (seq, head) = ReadHead(tx);
            if (seq != _seq || !head.AsSpan().SequenceEqual(_head)) _knownNow++; // another writer appended: re-read the balances
            var last = LastCheckpoint(tx);
            if (last is { } cp && (_signer is null || cp.Signer != _signer.Address))
                throw new LedgerRefusedException(Path, _signer is null
                    ? $"the ledger is signed by the operator {cp.Signer}: new entries without its key would follow the checkpoint unsigned"
                    : $"the ledger is signed by the operator {cp.Signer}, not by {_signer.Address}",
                    "give the operator's key (--operator-key or --operator-key-file)");
            NewBatch();
            var buf = new Line[32]; // each posting's lines, copied once (no enumerator per pass; a folded settlement's lines are a view over two lists)
            var slots = new int[32];
            var names = new byte[]?[32];
            foreach (var p in batch)
            {
                if (!seen.Add(p.Key) || Contains(p.Key)) continue;
                CheckFinalState(p, seen);
                int n = p.Lines.Count;
                if (buf.Length < n)
                {
                    buf = new Line[n * 2];
                    slots = new int[n * 2];
                    names = new byte[]?[n * 2];
                }
                Posting.CopyLines(p.Lines, buf);
                var lines = buf.AsSpan(0, n);
                for (int i = 0; i < n; i++)
                {
                    ref readonly var l = ref lines[i];
                    int id = Intern(l.Account);
                    int s = id * 3 + (int)l.Commodity; // IsBalanced above: the commodity is one of the three
                    long b;
                    if (_batchEpoch[s] == _batchNow) b = _batch[s];
                    else
                    {
                        b = _knownEpoch[s] == _knownNow ? _known[s] : ReadBalance(l.Account, l.Commodity);
                        _batchEpoch[s] = _batchNow;
                        _touched.Add(s);
                    }
                    _batch[s] = checked(b + l.Amount);
                    slots[i] = s;
                    names[i] = _utf8[id];
                }
                for (int i = 0; i < n; i++)
                    if (lines[i].Commodity == Commodity.Money && _locked[slots[i] / 3] && _batch[slots[i]] < 0)
                        throw new LedgerRefusedException(Path,
                            $"posting '{p.Key}' would take {lines[i].Account} to {_batch[slots[i]]} (escrow and collateral never go below 0)",
                            "this would pay out money that is not held; nothing of the batch was written");
                seq++;
                var enc = p.Encode(seq, lines, names.AsSpan(0, n));
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
            foreach (int s in _touched) Upsert(s / 3, s % 3, _batch[s]);
            if (_signer is not null && seq > 0 && (last is null || last.Value.Seq != seq))
            {
                using var cmd = _db.CreateCommand();
                cmd.Transaction = tx;
                cmd.CommandText = "INSERT OR REPLACE INTO checkpoint(seq, head, signer, signature) VALUES ($s, $h, $a, $g)";
                cmd.Parameters.AddWithValue("$s", seq);
                cmd.Parameters.AddWithValue("$h", head);
                cmd.Parameters.AddWithValue("$a", _signer.Address);
                cmd.Parameters.AddWithValue("$g", _signer.SignDigest(CheckpointDigest(seq, head)));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            _seq = seq;
            _head = head;
            foreach (int s in _touched)
            {
                _known[s] = _batch[s];
                _knownEpoch[s] = _knownNow;
            }
        }
        finally
        {
            _exists.Transaction = null;
            _insert.Transaction = null;
            _balance.Transaction = null;
        }
        return added;
    }

    /// <summary>
    /// Starts a batch: a new batch epoch (the previous batch's running balances are dropped, also when it threw), and when this
    /// instance has interned more than <see cref="KnownMax"/> accounts, forgets them all (and the balances it knew).
    /// </summary>
    private void NewBatch()
    {
        _touched.Clear();
        if (_ids.Count > KnownMax)
        {
            _ids.Clear();
            Array.Clear(_names);
            Array.Clear(_utf8);
            Array.Clear(_locked);
            Array.Clear(_knownEpoch);
            Array.Clear(_batchEpoch);
            _knownNow = 1;
            _batchNow = 0;
        }
        if (_batchNow == int.MaxValue)
        {
            Array.Clear(_batchEpoch);
            _batchNow = 0;
        }
        if (_knownNow == int.MaxValue)
        {
            Array.Clear(_knownEpoch);
            _knownNow = 1;
        }
        _batchNow++;
    }

    /// <summary>The account's index (interned on first sight, with its UTF-8 bytes and whether it is locked).</summary>
    private int Intern(string account)
    {
        if (_ids.TryGetValue(account, out int known)) return known;
        // the journal and the balance table store names as UTF-8, where an unpaired surrogate becomes U+FFFD: two names that
        // differ only there would be one account in the file and two here (the balance table drifting from the journal's sum)
        for (int i = 0; i < account.Length; i++)
        {
            char ch = account[i];
            if (char.IsHighSurrogate(ch) && i + 1 < account.Length && char.IsLowSurrogate(account[i + 1])) { i++; continue; }
            if (char.IsSurrogate(ch))
                throw new ArgumentException(
                    $"account name '{string.Concat(account.Select(c => char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString()))}' is not well-formed UTF-16 " +
                    $"(an unpaired surrogate at index {i}): the ledger stores names as UTF-8, where it would be the same account as one " +
                    "with U+FFFD in its place; give the account a name in valid Unicode text (nothing of the batch was written)");
        }
        int id = _ids.Count;
        _ids.Add(account, id);
        if (id == _names.Length)
        {
            int m = _names.Length * 2;
            Array.Resize(ref _names, m);
            Array.Resize(ref _utf8, m);
            Array.Resize(ref _locked, m);
            Array.Resize(ref _known, 3 * m);
            Array.Resize(ref _knownEpoch, 3 * m);
            Array.Resize(ref _batch, 3 * m);
            Array.Resize(ref _batchEpoch, 3 * m);
        }
        _names[id] = account;
        _utf8[id] = System.Text.Encoding.UTF8.GetByteCount(account) > ushort.MaxValue ? null : System.Text.Encoding.UTF8.GetBytes(account);
        _locked[id] = IsLocked(account);
        return id;
    }

    /// <summary>Writes (inserts or replaces) the balance of account <paramref name="id"/> in <paramref name="commodity"/> inside the open transaction.</summary>
    private void Upsert(int id, int commodity, long amount) => Upsert(_utf8[id] ?? System.Text.Encoding.UTF8.GetBytes(_names[id]), commodity, amount);

    private void Upsert(ReadOnlySpan<byte> account, int commodity, long amount)
    {
        var db = _db.Handle ?? throw new InvalidOperationException("the ledger's connection is closed");
        if (_upsert is null)
        {
            int prc = SQLitePCL.raw.sqlite3_prepare_v2(db,
                "INSERT INTO balance(account, commodity, amount) VALUES (?1, ?2, ?3) ON CONFLICT(account, commodity) DO UPDATE SET amount = excluded.amount",
                out var stmt);
            SqliteException.ThrowExceptionForRC(prc, db);
            _upsert = stmt;
        }
        int rc = SQLitePCL.raw.sqlite3_bind_text(_upsert, 1, account);
        if (rc == SQLitePCL.raw.SQLITE_OK) rc = SQLitePCL.raw.sqlite3_bind_int64(_upsert, 2, commodity);
        if (rc == SQLitePCL.raw.SQLITE_OK) rc = SQLitePCL.raw.sqlite3_bind_int64(_upsert, 3, amount);
        if (rc == SQLitePCL.raw.SQLITE_OK) rc = SQLitePCL.raw.sqlite3_step(_upsert);
        SQLitePCL.raw.sqlite3_reset(_upsert);
        if (rc != SQLitePCL.raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc == SQLitePCL.raw.SQLITE_ROW ? SQLitePCL.raw.SQLITE_MISUSE : rc, db);
    }

    /// <summary>Escrow and collateral accounts hold money for open trades only: they never go below 0.</summary>
    public static bool IsLocked(string account) =>
        account.EndsWith(":escrow", StringComparison.Ordinal) || account.EndsWith(":collateral", StringComparison.Ordinal);

    /// <summary>A trade ends once: settle:ID and refund:ID exclude each other.</summary>
    private void CheckFinalState(Posting p, HashSet<string> batchKeys)
    {
        string? other = p.Key.StartsWith("settle:", StringComparison.Ordinal) ? "refund:" + p.Key[7..]
            : p.Key.StartsWith("refund:", StringComparison.Ordinal) ? "settle:" + p.Key[7..] : null;
        if (other is not null && (batchKeys.Contains(other) || Contains(other)))
            throw new LedgerRefusedException(Path, $"posting '{p.Key}' would give the trade a second final state ('{other}' is in the ledger)",
                "a trade is settled or refunded once; nothing of the batch was written");
    }

    /// <summary>The digest the operator signs for a checkpoint: keccak256("OpenTE.LedgerCheckpoint" ‖ count u64 BE ‖ head hash).</summary>
    public static byte[] CheckpointDigest(long count, byte[] head)
    {
        var b = new byte[23 + 8 + head.Length];
        "OpenTE.LedgerCheckpoint"u8.CopyTo(b);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(23), count);
        head.CopyTo(b, 31);
        return Addr.Keccak(b);
    }

    /// <summary>The posting stored under <paramref name="key"/>, or null.</summary>
    public Posting? Get(string key)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT entry FROM journal WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", key);
        return cmd.ExecuteScalar() is byte[] e ? Posting.Decode(e).Posting : null;
    }

    /// <summary>The balance of every (account, commodity), as kept with the journal (the same as summing it).</summary>
    public Dictionary<(string Account, Commodity Commodity), long> AllBalances()
    {
        var d = new Dictionary<(string, Commodity), long>();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT account, commodity, amount FROM balance";
        using var r = cmd.ExecuteReader();
        while (r.Read())
            d[(r.GetValue(0) as string ?? throw new FormatException("an account name is not text"), (Commodity)(r.GetValue(1) as long? ?? throw new FormatException("a commodity is not an integer")))] =
                r.GetValue(2) as long? ?? throw new FormatException("a balance is not an integer");
        return d;
    }

    private (long, byte[]) ReadHead(SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1";
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return (0, Zero);
        return (r.GetValue(0) as long? ?? throw new FormatException("the head entry's number is not an integer"),
            r.GetValue(1) as byte[] ?? throw new FormatException("the head entry's hash is not a blob"));
    }

    private (long Seq, string Signer)? LastCheckpoint(SqliteTransaction tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT seq, signer FROM checkpoint ORDER BY seq DESC LIMIT 1";
        using var r = cmd.ExecuteReader();
        if (!r.Read()) return null;
        return (r.GetValue(0) as long? ?? throw new FormatException("a checkpoint's entry count is not an integer"),
            r.GetValue(1) as string ?? throw new FormatException("a checkpoint's signer is not text"));
    }

    /// <summary>A balance inside PostBatch's transaction (one prepared statement for the whole batch).</summary>
    private long ReadBalance(string account, Commodity c)
    {
        _balance.Parameters["$a"].Value = account;
        _balance.Parameters["$c"].Value = (int)c;
        return _balance.ExecuteScalar() switch { null => 0, long v => v, _ => throw new FormatException($"the balance of {account} is not an integer") };
    }

    /// <summary>A ledger written before the balance table existed gets it rebuilt from the journal (once, user_version 1).</summary>
    private void EnsureBalances()
    {
        using var check = _db.CreateCommand();
        check.CommandText = "PRAGMA user_version";
        if (Convert.ToInt64(check.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) >= 1) return;
        using var tx = _db.BeginTransaction(deferred: false);
        using var v = _db.CreateCommand();
        v.Transaction = tx;
        v.CommandText = "PRAGMA user_version";
        if (Convert.ToInt64(v.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) < 1)
        {
            var b = new Dictionary<(string, Commodity), long>();
            using (var rd = _db.CreateCommand())
            {
                rd.Transaction = tx;
                rd.CommandText = "SELECT entry FROM journal ORDER BY seq";
                using var r = rd.ExecuteReader();
                while (r.Read())
                {
                    if (r.GetValue(0) is not byte[] e) throw new FormatException("an entry is not a blob");
                    foreach (var l in Posting.Decode(e).Posting.Lines)
                        b[(l.Account, l.Commodity)] = checked(b.GetValueOrDefault((l.Account, l.Commodity)) + l.Amount);
                }
            }
            using (var del = _db.CreateCommand())
            {
                del.Transaction = tx;
                del.CommandText = "DELETE FROM balance";
                del.ExecuteNonQuery();
            }
            foreach (var ((a, c), amount) in b) Upsert(System.Text.Encoding.UTF8.GetBytes(a), (int)c, amount);
            v.CommandText = "PRAGMA user_version = 1";
            v.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>All postings in journal order (decoded; no chain check: use <see cref="Verify"/> for that).</summary>
    public static IEnumerable<Posting> Read(string path)
    {
        using var db = OpenReadOnly(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT entry FROM journal ORDER BY seq";
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return Posting.Decode(r.GetValue(0) as byte[] ?? throw new FormatException("an entry is not a blob")).Posting;
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
    /// posting is balanced. Reports the first bad entry (1-based); an entry changed together with its own hash is
    /// named (not its successor, whose previous-hash no longer matches). A file SQLite cannot read fails at the
    /// entry after the last good one. Then the signed checkpoints (if the ledger has any): each signature recovers
    /// to its signer (to <paramref name="operatorAddress"/> when given), the chain's hash at each checkpoint equals
    /// the signed head, and no entry follows the last checkpoint unsigned. Removing entries from the end together with
    /// their checkpoints is detected only against a head recorded elsewhere (<paramref name="expectedHead"/>,
    /// <paramref name="expectedCount"/>).
    /// </summary>
    public static VerifyResult Verify(string path, string? expectedHead = null, long? expectedCount = null, string? operatorAddress = null)
    {
        byte[] prev = Zero, prevPrev = Zero;
        long i = 0;
        var checkpoints = new List<(long Seq, byte[] Head, string Signer, string Signature)>();
        var chainAt = new Dictionary<long, byte[]>();
        try
        {
            using var db = OpenReadOnly(path);
            using (var c = db.CreateCommand())
            {
                c.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'";
                if (Convert.ToInt64(c.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1)
                {
                    c.CommandText = "SELECT seq, head, signer, signature FROM checkpoint ORDER BY seq";
                    using var cr = c.ExecuteReader();
                    while (cr.Read())
                    {
                        if (cr.GetValue(0) is not long cs || cr.GetValue(1) is not byte[] ch || cr.GetValue(2) is not string csg || cr.GetValue(3) is not string csig)
                            return new VerifyResult(false, 0, 1, "a checkpoint row has the wrong type (tampered)", Convert.ToHexStringLower(Zero));
                        checkpoints.Add((cs, ch, csg, csig));
                    }
                }
            }
            var wanted = checkpoints.Select(x => x.Seq).ToHashSet();
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
                if (r.GetValue(0) is not long seq) return Bad(i, "the entry number is not an integer", prev);
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
                var h = Posting.ChainHash(prev, enc);
                if (!sprev.AsSpan().SequenceEqual(prev))
                {
                    // This entry is intact with the previous hash it stores: the preceding entry was changed and its
                    // own hash recomputed to match, so name that one.
                    if (i > 1 && shash.AsSpan().SequenceEqual(Posting.ChainHash(sprev, enc)))
                        return Bad(i - 1, $"entry {i - 1} was changed and its hash recomputed (entry {i} still holds its original hash)", prevPrev);
                    return Bad(i, "the previous-hash does not match the preceding entry", prev);
                }
                if (!shash.AsSpan().SequenceEqual(h)) return Bad(i, "the hash does not match the entry (changed)", prev);
                if (!p.IsBalanced) return Bad(i, "the posting is not balanced", prev);
                prevPrev = prev;
                prev = h;
                if (wanted.Contains(i)) chainAt[i] = h;
            }
        }
        catch (SqliteException e)
        {
            return Bad(i + 1, $"the database cannot be read ({e.SqliteErrorCode}: {e.Message})", prev);
        }
        var head = Convert.ToHexStringLower(prev);
        string? signer = null;
        long? signed = null;
        long lastGood = 0;
        foreach (var (cs, ch, csg, csig) in checkpoints)
        {
            if (cs > i)
                return new VerifyResult(false, i, i + 1, $"the checkpoint signed {cs} entries, the ledger has {i} (entries removed)", head, csg, cs);
            if (Addr.Recover(CheckpointDigest(cs, ch), csig) is not { } who || who != Addr.Normalize(Addr.IsAddress(csg) ? csg : "0x" + new string('0', 40)))
                return new VerifyResult(false, i, lastGood + 1, $"the checkpoint at entry {cs} is not validly signed by {csg} (tampered)", head, csg, cs);
            if (operatorAddress is not null && who != Addr.Normalize(operatorAddress))
                return new VerifyResult(false, i, lastGood + 1, $"the checkpoint at entry {cs} is signed by {who}, not by the operator {Addr.Normalize(operatorAddress)}", head, who, cs);
            if (!chainAt.TryGetValue(cs, out var at) || !at.AsSpan().SequenceEqual(ch))
                return new VerifyResult(false, i, lastGood + 1,
                    $"entries {lastGood + 1}–{cs} are not the ones the operator signed at entry {cs} (changed and rehashed)", head, who, cs);
            signer = who;
            signed = cs;
            lastGood = cs;
        }
        if (signed is { } sc && sc < i)
            return new VerifyResult(false, i, sc + 1, $"entries {sc + 1}–{i} follow the last signed checkpoint (entry {sc}) unsigned (appended without the operator's key)", head, signer, signed);
        if (operatorAddress is not null && signed is null)
            return new VerifyResult(false, i, i == 0 ? null : 1, $"the ledger has no checkpoint signed by the operator {Addr.Normalize(operatorAddress)}", head);
        if (expectedCount is { } n && n != i)
            return new VerifyResult(false, i, Math.Min(i, n) + 1, $"expected {n} entries, found {i}", head, signer, signed);
        if (expectedHead is not null && !string.Equals(expectedHead, head, StringComparison.OrdinalIgnoreCase))
            return new VerifyResult(false, i, i, "the head hash differs from the expected one", head, signer, signed);
        return new VerifyResult(true, i, null, null, head, signer, signed);

        VerifyResult Bad(long index, string reason, byte[] lastGoodHash) =>
            new(false, index - 1, index, reason, Convert.ToHexStringLower(lastGoodHash));
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

    /// <summary>
    /// Closes the ledger, leaving the file in rollback-journal mode when no other connection has it open: a WAL file needs its
    /// <c>-wal</c> and <c>-shm</c> companions, and a read-only reader (<c>ledger verify</c>, <c>ledger balance</c>) cannot remove
    /// the ones it creates, so two empty files stayed beside the ledger after every check. The next writer switches WAL on again
    /// (<see cref="Open"/>); with another connection still open the switch is refused (busy) and the file simply stays in WAL mode.
    /// Closing twice is harmless.
    /// </summary>
    public void Dispose()
    {
        _exists.Dispose();
        _insert.Dispose();
        _balance.Dispose();
        _upsert?.Dispose();
        // straight to SQLite, not through a SqliteCommand: that one retries a busy database for its 30-second timeout, and with
        // another connection open the switch is refused (busy) at once — the file then stays in WAL mode, which is as valid
        if (_db.State == System.Data.ConnectionState.Open) SQLitePCL.raw.sqlite3_exec(_db.Handle, "PRAGMA journal_mode=DELETE");
        _db.Dispose();
    }
}
