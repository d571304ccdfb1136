using CsCheck;
using Microsoft.Data.Sqlite;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>
/// <see cref="SqliteLedger.PostBatch"/> keeps its balances in interned per-account slots and writes them with a prepared raw
/// statement; these tests hold it to the algorithm it replaced (written out below as <see cref="ReferenceWriter"/>: a map by
/// (account, commodity), every balance read from the table, each posting encoded with <see cref="Posting.Encode(long)"/>):
/// the same journal rows byte for byte, the same balance rows (in the same order), the same outcome of every batch.
/// </summary>
public class LedgerReferenceTests
{
    /// <summary>The previous PostBatch, on a plain connection, without any cache (every balance read from the table).</summary>
    private sealed class ReferenceWriter(string path) : IDisposable
    {
        private readonly SqliteConnection _db = Open(path);

        private static SqliteConnection Open(string path)
        {
            var db = new SqliteConnection($"Data Source={path};Pooling=False");
            db.Open();
            return db;
        }

        private object? Scalar(SqliteTransaction tx, string sql, params (string, object)[] ps)
        {
            using var c = _db.CreateCommand();
            c.Transaction = tx;
            c.CommandText = sql;
            foreach (var (n, v) in ps) c.Parameters.AddWithValue(n, v);
            return c.ExecuteScalar();
        }

        public int PostBatch(IReadOnlyList<Posting> batch)
        {
            foreach (var p in batch)
                if (!p.IsBalanced) throw new ArgumentException($"posting '{p.Key}' is not balanced (Σ debit ≠ Σ credit per commodity)");
            using var tx = _db.BeginTransaction(deferred: false);
            long seq = Scalar(tx, "SELECT seq FROM journal ORDER BY seq DESC LIMIT 1") as long? ?? 0;
            byte[] head = Scalar(tx, "SELECT hash FROM journal ORDER BY seq DESC LIMIT 1") as byte[] ?? new byte[32];
            bool Contains(string k) => Scalar(tx, "SELECT 1 FROM journal WHERE key = $k", ("$k", k)) is not null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var balances = new Dictionary<(string, Commodity), long>();
            int added = 0;
            foreach (var p in batch)
            {
                if (!seen.Add(p.Key) || Contains(p.Key)) continue;
                string? other = p.Key.StartsWith("settle:", StringComparison.Ordinal) ? "refund:" + p.Key[7..]
                    : p.Key.StartsWith("refund:", StringComparison.Ordinal) ? "settle:" + p.Key[7..] : null;
                if (other is not null && (seen.Contains(other) || Contains(other)))
                    throw new LedgerRefusedException(path, $"posting '{p.Key}' would give the trade a second final state ('{other}' is in the ledger)",
                        "a trade is settled or refunded once; nothing of the batch was written");
                foreach (var l in p.Lines)
                {
                    var k = (l.Account, l.Commodity);
                    if (!balances.TryGetValue(k, out var b))
                        b = Scalar(tx, "SELECT amount FROM balance WHERE account = $a AND commodity = $c", ("$a", l.Account), ("$c", (int)l.Commodity)) as long? ?? 0;
                    balances[k] = checked(b + l.Amount);
                }
                foreach (var l in p.Lines)
                    if (l.Commodity == Commodity.Money && SqliteLedger.IsLocked(l.Account) && balances[(l.Account, l.Commodity)] < 0)
                        throw new LedgerRefusedException(path,
                            $"posting '{p.Key}' would take {l.Account} to {balances[(l.Account, l.Commodity)]} (escrow and collateral never go below 0)",
                            "this would pay out money that is not held; nothing of the batch was written");
                seq++;
                var enc = p.Encode(seq);
                var h = Posting.ChainHash(head, enc);
                using (var ins = _db.CreateCommand())
                {
                    ins.Transaction = tx;
                    ins.CommandText = "INSERT INTO journal(seq, key, entry, prev, hash) VALUES ($s, $k, $e, $p, $h)";
                    ins.Parameters.AddWithValue("$s", seq);
                    ins.Parameters.AddWithValue("$k", p.Key);
                    ins.Parameters.AddWithValue("$e", enc);
                    ins.Parameters.AddWithValue("$p", head);
                    ins.Parameters.AddWithValue("$h", h);
                    ins.ExecuteNonQuery();
                }
                head = h;
                added++;
            }
            foreach (var ((a, c), v) in balances)
                Scalar(tx, "INSERT INTO balance(account, commodity, amount) VALUES ($a, $c, $v) ON CONFLICT(account, commodity) DO UPDATE SET amount = excluded.amount",
                    ("$a", a), ("$c", (int)c), ("$v", v));
            tx.Commit();
            return added;
        }

        public void Dispose() => _db.Dispose();
    }

    /// <summary>Every journal row (seq, key, entry, prev, hash) and every balance row (rowid, account, commodity, amount), as text.</summary>
    private static (List<string> Journal, List<string> Balances) Rows(string path)
    {
        using var db = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        db.Open();
        List<string> Read(string sql)
        {
            using var c = db.CreateCommand();
            c.CommandText = sql;
            using var r = c.ExecuteReader();
            var rows = new List<string>();
            while (r.Read())
                rows.Add(string.Join("|", Enumerable.Range(0, r.FieldCount).Select(i => r.GetValue(i) switch
                {
                    byte[] b => Convert.ToHexString(b),
                    var v => $"{v.GetType().Name}:{v}",
                })));
            return rows;
        }
        return (Read("SELECT seq, key, entry, prev, hash FROM journal ORDER BY seq"), Read("SELECT rowid, account, commodity, amount FROM balance ORDER BY rowid"));
    }

    /// <summary>"added N" or the exception's type and message (the file's path written as &lt;ledger&gt;: the two files differ).</summary>
    private static string Outcome(Func<int> post, string path)
    {
        try { return "added " + post(); }
        catch (Exception e) when (e is ArgumentException or LedgerRefusedException or OverflowException)
        {
            return e.GetType().Name + ": " + e.Message.Replace(path, "<ledger>", StringComparison.Ordinal);
        }
    }

    // Accounts of a few participants (escrow and collateral are locked), system accounts, non-ASCII names (2-, 3- and 4-byte UTF-8),
    // and once in a while a name too long for the encoding (refused). No name with an unpaired surrogate: the ledger refuses those
    // now (UTF-8 would make "bad\ud800" and "bad\ufffd" one account in the file), the previous algorithm took them.
    private static readonly string[] Accounts =
    [
        .. Enumerable.Range(0, 4).SelectMany(i => new[] { ":available", ":escrow", ":collateral", ":co2", ":energy" }.Select(s => $"0x{i + 1:x40}{s}")),
        "system:deposits", "system:carbon", "system:losses", "Zoë:available", "電力:escrow", "😀:available", "bad\ufffd:escrow",
    ];

    private static Posting RandomPosting(Random rng, int trades)
    {
        int t = rng.Next(trades);
        string key = rng.Next(6) switch
        {
            0 => $"settle:T{t}",
            1 => $"refund:T{t}",
            2 => $"open:T{t}",
            3 => $"carbon:T{t}",
            _ => $"dep:{rng.Next(40)}",
        };
        var lines = new List<Line>();
        int groups = rng.Next(4);
        for (int g = 0; g < groups; g++)
        {
            var c = (Commodity)rng.Next(3);
            long amount = rng.Next(10) == 0 ? long.MaxValue / 2 + rng.Next(1000) : rng.Next(0, 5000);
            string Acct() => rng.Next(500) == 0 ? new string('é', 40_000) : Accounts[rng.Next(Accounts.Length)];
            // money usually flows out of system:deposits or an available account, sometimes out of an escrow (refused when it is not held)
            string from = rng.Next(3) == 0 ? Acct() : rng.Next(2) == 0 ? "system:deposits" : Accounts[5 * rng.Next(4)];
            lines.Add(new Line(from, c, -amount));
            lines.Add(new Line(Acct(), c, amount));
        }
        if (rng.Next(30) == 0) lines.Add(new Line(Accounts[0], Commodity.Money, 1)); // unbalanced
        // sometimes the lines as a non-array list (the ledger copies them by index)
        IReadOnlyList<Line> ls = rng.Next(3) == 0 ? lines.AsReadOnly() : rng.Next(2) == 0 ? lines : lines.ToArray();
        return new Posting(key, key[..key.IndexOf(':')], 1_780_000_000 + rng.Next(1000), ls);
    }

    [Fact]
    public void PostBatch_writes_the_journal_rows_balances_and_outcomes_of_the_previous_algorithm()
    {
        Gen.Int[0, int.MaxValue].Sample(seed =>
        {
            var rng = new Random(seed);
            string mine = Keys.TempFile(), reference = Keys.TempFile();
            try
            {
                // both files made by SqliteLedger.Open (the schema); the reference then written by the previous algorithm only
                SqliteLedger.Open(reference, Durability.Normal).Dispose();
                SqliteLedger.Open(mine, Durability.Normal).Dispose();
                int trades = rng.Next(3, 12);
                var batches = Enumerable.Range(0, rng.Next(4, 14)).Select(_ => Enumerable.Range(0, rng.Next(0, 9)).Select(_ => RandomPosting(rng, trades)).ToList()).ToList();
                // the first batches of "mine" are written by the previous algorithm too (a ledger written before the change), then two
                // SqliteLedger instances take turns (each must notice the other's appends) and sometimes the previous writer appends
                int old = rng.Next(0, 3);
                using var refWriter = new ReferenceWriter(reference);
                using var oldWriter = new ReferenceWriter(mine);
                using var a = SqliteLedger.Open(mine, Durability.Normal);
                using var b = SqliteLedger.Open(mine, Durability.Normal);
                for (int i = 0; i < batches.Count; i++)
                {
                    var batch = batches[i];
                    string expected = Outcome(() => refWriter.PostBatch(batch), reference);
                    int who = i < old ? 2 : rng.Next(7) switch { 0 => 2, 1 or 2 => 1, _ => 0 };
                    string got = Outcome(() => who switch { 0 => a.PostBatch(batch), 1 => b.PostBatch(batch), _ => oldWriter.PostBatch(batch) }, mine);
                    Assert.Equal(expected, got);
                }
                var (rj, rb) = Rows(reference);
                var (mj, mb) = Rows(mine);
                Assert.Equal(rj, mj);
                Assert.Equal(rb, mb);
                var v = SqliteLedger.Verify(mine);
                Assert.True(v.Ok, v.Reason);
                Assert.Equal(SqliteLedger.Balances(mine).ToDictionary(), a.AllBalances());
            }
            finally
            {
                Keys.Delete(mine);
                Keys.Delete(reference);
            }
        }, iter: 150);
    }

    [Fact]
    public void A_ledger_written_by_the_previous_algorithm_verifies_and_takes_new_postings_with_the_same_bytes()
    {
        string mine = Keys.TempFile(), reference = Keys.TempFile();
        try
        {
            SqliteLedger.Open(reference, Durability.Normal).Dispose();
            SqliteLedger.Open(mine, Durability.Normal).Dispose();
            var all = Ledgers.Sample(60, seed: 11);
            var escrow = new Posting("open:X", "open", 5, [new Line("acct-000001-to:available", Commodity.Money, -5), new Line("acct-000001-to:escrow", Commodity.Money, 5)]);
            using (var r = new ReferenceWriter(reference))
            using (var o = new ReferenceWriter(mine))
            {
                Assert.Equal(30, r.PostBatch(all.GetRange(0, 30)));
                Assert.Equal(30, o.PostBatch(all.GetRange(0, 30)));
                Assert.Equal(31, r.PostBatch([.. all.GetRange(20, 40), escrow]));
            }
            var before = SqliteLedger.Verify(mine);
            Assert.True(before.Ok, before.Reason);
            using (var l = SqliteLedger.Open(mine))
            {
                Assert.Equal(30, l.Count);
                Assert.Equal(before.HeadHash, l.HeadHash);
                Assert.Equal(31, l.PostBatch([.. all.GetRange(20, 40), escrow])); // the first 10 are in the ledger already
                Assert.Equal(0, l.PostBatch(all));
            }
            var (rj, rb) = Rows(reference);
            var (mj, mb) = Rows(mine);
            Assert.Equal(rj, mj);
            Assert.Equal(rb, mb);
            var after = SqliteLedger.Verify(mine);
            Assert.True(after.Ok, after.Reason);
            Assert.Equal(61, after.Entries);
        }
        finally
        {
            Keys.Delete(mine);
            Keys.Delete(reference);
        }
    }

    [Fact]
    public void An_account_name_with_an_unpaired_surrogate_is_refused_and_nothing_of_its_batch_is_written()
    {
        // "bad\ud800" would be stored as "bad\ufffd" (UTF-8 replaces the lone surrogate): two names, one account in the file,
        // and the balance table would drift from the journal's sum — so the name is refused, with the batch it came in
        var path = Keys.TempFile();
        try
        {
            using var l = SqliteLedger.Open(path, Durability.Normal);
            Assert.True(l.Post(new Posting("fund", "transfer", 1, [new Line("system:deposits", Commodity.Money, -9), new Line("bad\ufffd:escrow", Commodity.Money, 9)])));
            foreach (var lone in new[] { "bad\ud800:escrow", "bad\udc00:escrow", "\ud83d", "x\ud83d\ud83d\ude00" })
            {
                var batch = new List<Posting>
                {
                    new("ok", "transfer", 2, [new Line("system:deposits", Commodity.Money, -1), new Line("Zoë:available", Commodity.Money, 1)]),
                    new("drain", "transfer", 3, [new Line(lone, Commodity.Money, -9), new Line("thief:available", Commodity.Money, 9)]),
                };
                var e = Assert.Throws<ArgumentException>(() => l.PostBatch(batch));
                Assert.Contains("unpaired surrogate", e.Message);
                Assert.Contains("nothing of the batch was written", e.Message);
                Assert.False(l.Contains("ok"));
            }
            Assert.Equal(1, l.Count);
            Assert.Equal(9, l.AllBalances()[("bad\ufffd:escrow", Commodity.Money)]);
            Assert.True(l.Post(new Posting("pair", "transfer", 4, [new Line("system:deposits", Commodity.Money, -1), new Line("😀:available", Commodity.Money, 1)])));
            Assert.True(SqliteLedger.Verify(path).Ok);
        }
        finally { Keys.Delete(path); }
    }

    [Fact]
    public void A_ledger_without_its_balance_table_gets_it_rebuilt_from_the_journal()
    {
        var path = Keys.TempFile();
        try
        {
            using (var l = SqliteLedger.Open(path, Durability.Normal))
            {
                l.PostBatch(Ledgers.Sample(25, seed: 2));
                l.PostBatch([new Posting("x", "transfer", 1, [new Line("Zoë:available", Commodity.Money, -7), new Line("電力:escrow", Commodity.Money, 7),
                    new Line("Zoë:co2", Commodity.Co2Grams, 3), new Line("system:carbon", Commodity.Co2Grams, -3)])]);
            }
            var expected = SqliteLedger.Balances(path).ToDictionary();
            using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                db.Open();
                using var c = db.CreateCommand();
                c.CommandText = "DELETE FROM balance; PRAGMA user_version = 0;";
                c.ExecuteNonQuery();
            }
            using (var l = SqliteLedger.Open(path, Durability.Normal))
            {
                Assert.Equal(expected, l.AllBalances());
                Assert.Equal(expected.Count, l.AllBalances().Count);
                // and it keeps posting on the rebuilt table
                Assert.True(l.Post(new Posting("y", "transfer", 2, [new Line("電力:escrow", Commodity.Money, -7), new Line("Zoë:available", Commodity.Money, 7)])));
                Assert.Throws<LedgerRefusedException>(() => l.Post(new Posting("z", "transfer", 3, [new Line("電力:escrow", Commodity.Money, -1), new Line("Zoë:available", Commodity.Money, 1)])));
                Assert.Equal(0, l.AllBalances()[("電力:escrow", Commodity.Money)]);
                Assert.Equal(SqliteLedger.Balances(path).ToDictionary(), l.AllBalances());
            }
        }
        finally { Keys.Delete(path); }
    }
}
