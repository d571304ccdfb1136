using OpenTE.Settlement.Ledger;

// usage: CrashHelper LEDGER BATCH_SIZE [BATCHES]
// Posts batches of balanced postings with keys "b{batch}:{i}" (each batch one transaction, synchronous=FULL)
// and prints "ACK {batch}" after each commit returned. The crash test kills it at a random moment.
var path = args[0];
int size = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
int batches = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
using var ledger = SqliteLedger.Open(path, Durability.Full);
long start = ledger.Count;
for (int b = 0; b < batches; b++)
{
    var batch = new List<Posting>(size);
    for (int i = 0; i < size; i++)
    {
        long amount = 1 + (b * 7919L + i) % 1000;
        batch.Add(new Posting($"b{b}:{i}", "transfer", b, [
            new Line($"0x{(i % 16):x40}:available", Commodity.Money, -amount),
            new Line($"0x{((i + 1) % 16):x40}:available", Commodity.Money, amount),
            new Line("system:imbalance", Commodity.EnergyWh, -i),
            new Line($"0x{(i % 16):x40}:energy", Commodity.EnergyWh, i)]));
    }
    ledger.PostBatch(batch);
    Console.Out.WriteLine($"ACK {b}");
    Console.Out.Flush();
}
return 0;
