using Microsoft.Data.Sqlite;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

/// <summary>Issue #23: the ledger refuses postings that pay out money not held, serialises writers, and signs its head.</summary>
public class LedgerHardeningTests
{
    private static Posting Move(string key, string kind, string from, string to, long amount) =>
        new(key, kind, 1000, [new Line(from, Commodity.Money, -amount), new Line(to, Commodity.Money, amount)]);

    private static void Exec(string path, string sql, params (string, object)[] ps)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in ps) cmd.Parameters.AddWithValue(n, v);
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void Refund_then_settle_of_one_trade_is_refused_and_escrow_never_goes_negative()
    {
        var path = Keys.TempFile();
        try
        {
            using var l = SqliteLedger.Open(path);
            l.PostBatch([Move("deposit:1:b", "deposit", "system:deposits", "b:available", 100)]);
            l.PostBatch([Move("open:X", "open", "b:available", "b:escrow", 48)]);
            l.PostBatch([Move("refund:X", "refund", "b:escrow", "b:available", 48)]);
            var e = Assert.Throws<LedgerRefusedException>(() => l.PostBatch([Move("settle:X", "settle", "b:escrow", "s:available", 48)]));
            Assert.Contains("second final state", e.Message);
            // a payout from an escrow that holds nothing, under any key, is refused too
            e = Assert.Throws<LedgerRefusedException>(() => l.PostBatch([Move("other", "settle", "b:escrow", "s:available", 1)]));
            Assert.Contains("b:escrow", e.Message);
            Assert.Equal(3, l.Count);
            Assert.True(SqliteLedger.Verify(path).Ok);
            Assert.Equal(0, SqliteLedger.Balances(path)[("b:escrow", Commodity.Money)]);
        }
        finally { Keys.Delete(path); }
    }

    [Fact]
    public void Two_writers_opened_together_both_succeed()
    {
        var path = Keys.TempFile();
        try
        {
            using var a = SqliteLedger.Open(path);
            using var b = SqliteLedger.Open(path);
            var all = Ledgers.Sample(40);
            a.PostBatch(all.GetRange(0, 10));
            b.PostBatch(all.GetRange(10, 10));   // b's sequence number from open time is stale
            a.PostBatch(all.GetRange(20, 10));
            b.PostBatch(all.GetRange(30, 10));
            var v = SqliteLedger.Verify(path);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal(40, v.Entries);
            // and in threads, many times
            var more = Ledgers.Sample(400, seed: 7);
            Parallel.For(0, 2, k =>
            {
                using var w = SqliteLedger.Open(path);
                for (int i = 0; i < 200; i += 10) w.PostBatch(more.GetRange(k * 200 + i, 10).Select(p => p with { Key = "t" + p.Key }).ToList());
            });
            v = SqliteLedger.Verify(path);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal(440, v.Entries);
        }
        finally { Keys.Delete(path); }
    }

    [Fact]
    public void Verify_names_the_entry_that_was_changed_and_rehashed()
    {
        var path = Keys.TempFile();
        try
        {
            using (var l = SqliteLedger.Open(path)) l.PostBatch(Ledgers.Sample(30));
            var posts = SqliteLedger.Read(path).ToList();
            var p = posts[19];
            var changed = p with { Lines = [p.Lines[0] with { Amount = p.Lines[0].Amount - 5 }, p.Lines[1] with { Amount = p.Lines[1].Amount + 5 }] };
            var enc = changed.Encode(20);
            byte[] prev;
            using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                db.Open();
                using var c = db.CreateCommand();
                c.CommandText = "SELECT prev FROM journal WHERE seq = 20";
                prev = (byte[])c.ExecuteScalar()!;
            }
            Exec(path, "UPDATE journal SET entry = $e, hash = $h WHERE seq = 20", ("$e", enc), ("$h", Posting.ChainHash(prev, enc)));
            var v = SqliteLedger.Verify(path);
            Assert.False(v.Ok);
            Assert.Equal(20, v.FirstBadIndex);
        }
        finally { Keys.Delete(path); }
    }

    /// <summary>Rewrites the whole chain from entry <paramref name="from"/> on (what an attacker with write access can do).</summary>
    private static void Rehash(string path, long from)
    {
        var rows = new List<(long Seq, byte[] Entry)>();
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using (var c = db.CreateCommand())
        {
            c.CommandText = "SELECT seq, entry FROM journal ORDER BY seq";
            using var r = c.ExecuteReader();
            while (r.Read()) rows.Add((r.GetInt64(0), (byte[])r.GetValue(1)));
        }
        byte[] prev = new byte[32];
        foreach (var (seq, e) in rows)
        {
            var h = Posting.ChainHash(prev, e);
            if (seq >= from)
            {
                using var u = db.CreateCommand();
                u.CommandText = "UPDATE journal SET prev = $p, hash = $h WHERE seq = $s";
                u.Parameters.AddWithValue("$p", prev);
                u.Parameters.AddWithValue("$h", h);
                u.Parameters.AddWithValue("$s", seq);
                u.ExecuteNonQuery();
            }
            prev = h;
        }
    }

    [Fact]
    public void Signed_checkpoints_catch_a_rehashed_change_and_an_appended_forgery()
    {
        var op = Keys.People[0];
        var path = Keys.TempFile();
        try
        {
            var all = Ledgers.Sample(30);
            using (var l = SqliteLedger.Open(path, signer: op))
            {
                l.PostBatch(all.GetRange(0, 10));
                l.PostBatch(all.GetRange(10, 20));
            }
            var v = SqliteLedger.Verify(path, operatorAddress: op.Address);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal((op.Address, 30L), (v.Signer, v.SignedEntries));
            // without the key the ledger cannot be extended
            using (var l = SqliteLedger.Open(path))
                Assert.Throws<LedgerRefusedException>(() => l.PostBatch(Ledgers.Sample(31).GetRange(30, 1)));

            // balanced change of entry 15 plus a rehash of the rest: the chain itself is consistent again
            var p = SqliteLedger.Read(path).ElementAt(14);
            var changed = p with { Lines = [p.Lines[0] with { Amount = p.Lines[0].Amount - 5 }, p.Lines[1] with { Amount = p.Lines[1].Amount + 5 }] };
            var copy = Keys.TempFile();
            File.Copy(path, copy);
            Exec(copy, "UPDATE journal SET entry = $e WHERE seq = 15", ("$e", changed.Encode(15)));
            Rehash(copy, 15);
            v = SqliteLedger.Verify(copy);
            Assert.False(v.Ok);
            Assert.Equal(11, v.FirstBadIndex); // somewhere in 11–30: after the checkpoint at 10 that still holds
            Assert.Contains("not the ones the operator signed", v.Reason);
            Keys.Delete(copy);

            // a forged entry appended with a valid hash
            var head = Convert.FromHexString(SqliteLedger.Verify(path).HeadHash);
            var forged = new Posting("forged", "transfer", 5, [new Line("x:available", Commodity.Money, -1), new Line("y:available", Commodity.Money, 1)]);
            var enc = forged.Encode(31);
            Exec(path, "INSERT INTO journal(seq, key, entry, prev, hash) VALUES (31, 'forged', $e, $p, $h)", ("$e", enc), ("$p", head), ("$h", Posting.ChainHash(head, enc)));
            v = SqliteLedger.Verify(path);
            Assert.False(v.Ok);
            Assert.Equal(31, v.FirstBadIndex);
            Assert.Contains("unsigned", v.Reason);
            // a checkpoint re-signed by someone else is not the operator's
            Exec(path, "DELETE FROM journal WHERE seq = 31");
            var thief = Keys.Stranger;
            Exec(path, "UPDATE checkpoint SET signer = $a, signature = $g WHERE seq = 30", ("$a", thief.Address),
                ("$g", thief.SignDigest(SqliteLedger.CheckpointDigest(30, head))));
            Assert.True(SqliteLedger.Verify(path).Ok);
            v = SqliteLedger.Verify(path, operatorAddress: op.Address);
            Assert.False(v.Ok);
            Assert.Contains("not by the operator", v.Reason);
        }
        finally { Keys.Delete(path); }
    }
}
