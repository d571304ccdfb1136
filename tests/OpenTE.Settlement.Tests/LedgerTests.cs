using System.Diagnostics;
using System.Text;
using Microsoft.Data.Sqlite;
using OpenTE.Settlement.Ledger;

namespace OpenTE.Settlement.Tests;

public class LedgerTests
{
    private static string Build(int n)
    {
        var path = Keys.TempFile();
        using var l = SqliteLedger.Open(path);
        var all = Ledgers.Sample(n);
        for (int i = 0; i < n; i += 64) l.PostBatch(all.GetRange(i, Math.Min(64, n - i)));
        l.Dispose();
        Exec(path, "VACUUM"); // no stale copies of rewritten pages: each entry's bytes are in the file once
        return path;
    }

    private static void Exec(string path, string sql)
    {
        using var db = new SqliteConnection($"Data Source={path};Pooling=False");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public void Postings_are_chained_idempotent_and_balanced()
    {
        var path = Build(100);
        try
        {
            var v = SqliteLedger.Verify(path);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal(100, v.Entries);
            using var l = SqliteLedger.Open(path);
            Assert.Equal(100, l.Count);
            Assert.Equal(v.HeadHash, l.HeadHash);
            Assert.Equal(0, l.PostBatch(Ledgers.Sample(100)));
            Assert.False(l.Post(Ledgers.Sample(1)[0]));
            var unbalanced = new Posting("u", "x", 0, [new Line("a", Commodity.Money, 5), new Line("b", Commodity.Money, -4)]);
            var ex = Assert.Throws<ArgumentException>(() => l.PostBatch([new Posting("ok", "x", 0, []), unbalanced]));
            Assert.Contains("'u'", ex.Message);
            var mixed = new Posting("m", "x", 0, [new Line("a", Commodity.Money, 5), new Line("b", Commodity.EnergyWh, -5)]);
            Assert.Throws<ArgumentException>(() => l.Post(mixed));
            Assert.Equal(100, l.Count);
            Assert.False(l.Contains("ok"));
            Assert.True(l.Post(new Posting("ok", "x", 0, [])));
            Assert.Equal(101, l.Count);
            Assert.True(SqliteLedger.Verify(path, l.HeadHash, 101).Ok);
            Assert.Equal(0, SqliteLedger.Balances(path).Values.Sum());
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    [Fact]
    public void Two_writers_on_one_file_keep_the_balance_table_equal_to_the_journal()
    {
        // each instance remembers the balances it wrote; a batch of the other one in between must make it re-read them
        var path = Keys.TempFile();
        try
        {
            var rng = new Random(5);
            string[] accounts = ["a", "b", "c", "d"];
            Posting Move(int k)
            {
                long x = rng.Next(1, 1000);
                string from = accounts[rng.Next(4)], to = accounts[(Array.IndexOf(accounts, from) + 1 + rng.Next(3)) % 4];
                return new Posting($"p{k}", "x", k, [new Line(from, Commodity.Money, -x), new Line(to, Commodity.Money, x)]);
            }
            using (var a = SqliteLedger.Open(path, Durability.Normal))
            using (var b = SqliteLedger.Open(path, Durability.Normal))
            {
                for (int k = 0; k < 40; k += 2)
                {
                    var w = rng.Next(3) == 0 ? b : a;
                    w.PostBatch([Move(k), Move(k + 1)]);
                    Assert.Equal(SqliteLedger.Balances(path).ToDictionary(), a.AllBalances());
                    Assert.Equal(SqliteLedger.Balances(path).ToDictionary(), b.AllBalances());
                }
                Assert.Equal(40, SqliteLedger.Read(path).Count());
            }
            Assert.True(SqliteLedger.Verify(path).Ok);
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(77)]
    [InlineData(200)]
    public void Flipping_a_byte_of_an_entry_in_the_file_fails_verify_at_that_entry(int index)
    {
        var path = Build(200);
        try
        {
            Assert.False(File.Exists(path + "-wal") && new FileInfo(path + "-wal").Length > 0, "closing checkpoints the WAL into the file");
            var bytes = File.ReadAllBytes(path);
            var needle = Encoding.UTF8.GetBytes($"acct-{index:D6}-from");
            // one bit of one byte of the entry's account name (in every copy SQLite left in the file: stale
            // copies of rewritten pages may sit in unused space)
            int found = 0;
            for (int at = bytes.AsSpan().IndexOf(needle); at >= 0; at = bytes.AsSpan(at + 1).IndexOf(needle) is var k and >= 0 ? at + 1 + k : -1, found++)
                bytes[at + 7] ^= 0x01;
            Assert.True(found >= 1, "entry bytes found in the file");
            File.WriteAllBytes(path, bytes);
            var v = SqliteLedger.Verify(path);
            Assert.False(v.Ok);
            Assert.Equal(index, v.FirstBadIndex);
            Assert.Equal(index - 1, v.Entries);
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    [Fact]
    public void Removed_reordered_and_rehashed_entries_are_found()
    {
        var path = Build(60);
        try
        {
            Exec(path, "DELETE FROM journal WHERE seq = 25");
            var v = SqliteLedger.Verify(path);
            Assert.Equal((false, 25L), (v.Ok, v.FirstBadIndex!.Value));
            Assert.Contains("missing", v.Reason);
        }
        finally
        {
            Keys.Delete(path);
        }

        path = Build(60);
        try
        {
            Exec(path, "UPDATE journal SET seq = -1 WHERE seq = 10; UPDATE journal SET seq = 10 WHERE seq = 11; UPDATE journal SET seq = 11 WHERE seq = -1;");
            var v = SqliteLedger.Verify(path);
            Assert.Equal((false, 10L), (v.Ok, v.FirstBadIndex!.Value));
        }
        finally
        {
            Keys.Delete(path);
        }

        path = Build(60);
        try
        {
            // an attacker rewrites entry 30 with a new amount and a correct hash of its own: entry 31 no longer links,
            // but it is intact with the hash it stores, so the changed entry 30 is named (issue #23)
            var all = SqliteLedger.Read(path).ToList();
            var p = all[29] with { Lines = [new Line("x", Commodity.Money, -1), new Line("y", Commodity.Money, 1)] };
            var enc = p.Encode(30);
            using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
            {
                db.Open();
                using var q = db.CreateCommand();
                q.CommandText = "SELECT prev FROM journal WHERE seq = 30";
                var prev = (byte[])q.ExecuteScalar()!;
                q.CommandText = "UPDATE journal SET entry = $e, hash = $h WHERE seq = 30";
                q.Parameters.AddWithValue("$e", enc);
                q.Parameters.AddWithValue("$h", Posting.ChainHash(prev, enc));
                q.ExecuteNonQuery();
            }
            var v = SqliteLedger.Verify(path);
            Assert.Equal((false, 30L), (v.Ok, v.FirstBadIndex!.Value));
            Assert.Contains("changed and its hash recomputed", v.Reason);
        }
        finally
        {
            Keys.Delete(path);
        }

        path = Build(60);
        try
        {
            var head = SqliteLedger.Verify(path).HeadHash;
            Exec(path, "DELETE FROM journal WHERE seq = 60");
            Assert.True(SqliteLedger.Verify(path).Ok);                       // a cut tail links, …
            var v = SqliteLedger.Verify(path, head, 60);                      // … but not against the recorded head
            Assert.Equal((false, 60L), (v.Ok, v.FirstBadIndex!.Value));
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    [Fact]
    public void Process_killed_mid_batch_loses_no_acknowledged_posting()
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "OpenTE.Settlement.CrashHelper.dll");
        Assert.True(File.Exists(helper), helper);
        var path = Keys.TempFile();
        try
        {
            for (int round = 0; round < 2; round++)
            {
                var psi = new ProcessStartInfo("dotnet", [helper, path, "500"]) { RedirectStandardOutput = true, UseShellExecute = false };
                using var proc = Process.Start(psi)!;
                int lastAck = -1;
                int killAfter = 3 + round * 2;
                while (proc.StandardOutput.ReadLine() is { } line)
                {
                    Assert.StartsWith("ACK ", line);
                    lastAck = int.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
                    if (lastAck >= killAfter)
                    {
                        Thread.Sleep(3 + round * 7);       // the next batch is being written
                        proc.Kill();
                        break;
                    }
                }
                proc.WaitForExit();
                Assert.True(lastAck >= killAfter, "the helper acknowledged batches before it was killed");

                var v = SqliteLedger.Verify(path);
                Assert.True(v.Ok, v.Reason);
                using var l = SqliteLedger.Open(path);
                for (int b = 0; b <= lastAck; b++)
                    for (int i = 0; i < 500; i += 499)
                        Assert.True(l.Contains($"b{b}:{i}"), $"acknowledged posting b{b}:{i} is present");
                Assert.Equal(0, l.Count % 500);                                // whole batches only
                Assert.True(l.Count >= (lastAck + 1) * 500L);
            }
        }
        finally
        {
            Keys.Delete(path);
        }
    }

    /// <summary>
    /// `ledger verify` and `ledger balance` open the file read-only. A WAL-mode file makes SQLite create `-wal` and `-shm` beside
    /// it, and a read-only connection cannot remove them: two empty files stayed after every check (issue #17, "no stray files").
    /// The writer now closes the ledger in rollback-journal mode, so a read-only check leaves nothing behind.
    /// </summary>
    [Fact]
    public void Reading_a_closed_ledger_leaves_no_wal_or_shm_files_beside_it()
    {
        var path = Keys.TempFile();
        try
        {
            using (var l = SqliteLedger.Open(path)) l.PostBatch(Ledgers.Sample(50));
            Assert.False(File.Exists(path + "-wal"), "the writer left a -wal file");
            Assert.False(File.Exists(path + "-shm"), "the writer left a -shm file");
            Assert.True(SqliteLedger.Verify(path).Ok);
            Assert.NotEmpty(SqliteLedger.Balances(path));
            Assert.False(File.Exists(path + "-wal"), "a read-only check left a -wal file");
            Assert.False(File.Exists(path + "-shm"), "a read-only check left a -shm file");

            // written again: WAL while open (a reader meanwhile is fine), the same verified chain after closing
            using (var l = SqliteLedger.Open(path))
            {
                Assert.True(File.Exists(path + "-wal") || File.Exists(path + "-shm"), "the writer did not switch WAL back on");
                l.PostBatch(Ledgers.Sample(80).GetRange(50, 30));
                Assert.True(SqliteLedger.Verify(path).Ok);
            }
            var v = SqliteLedger.Verify(path);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal(80, v.Entries);
            Assert.False(File.Exists(path + "-wal") || File.Exists(path + "-shm"));
        }
        finally { Keys.Delete(path); }
    }

    /// <summary>With another connection open when the writer closes, the switch out of WAL is refused; the close must not fail and the ledger stays valid.</summary>
    [Fact]
    public void Closing_while_another_connection_reads_keeps_wal_and_a_valid_ledger()
    {
        var path = Keys.TempFile();
        try
        {
            var l = SqliteLedger.Open(path);
            l.PostBatch(Ledgers.Sample(20));
            using (var other = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly"))
            {
                other.Open();
                using var cmd = other.CreateCommand();
                cmd.CommandText = "SELECT count(*) FROM journal";
                Assert.Equal(20L, (long)cmd.ExecuteScalar()!);
                l.Dispose(); // the switch to rollback-journal mode is refused: busy
            }
            var v = SqliteLedger.Verify(path);
            Assert.True(v.Ok, v.Reason);
            Assert.Equal(20, v.Entries);
        }
        finally { Keys.Delete(path); }
    }
}
