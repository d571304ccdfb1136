using OpenTE.Grid.Metering;
using OpenTE.Grid.Tests;
using OpenTE.Privacy.Metering;
using OpenTE.Grid.Input;

namespace OpenTE.Privacy.Tests;

public class MeteringTests
{
    private const string Header = "meter,kind,feeder,bus,start,import_kwh,export_kwh\n";

    [Fact]
    public void Every_anomaly_is_rejected_with_its_line_and_reason_and_nothing_is_lost()
    {
        string csv = Header +
            "H1,household,F1,2,2026-06-01T00:00:00+00:00,0.5,0\n" +     // 2 ok
            "H1,household,F1,2,2026-06-01T00:15:00+00:00,-0.1,0\n" +    // 3 negative
            "H1,household,F1,2,2026-06-01T00:30:00+00:00,500,0\n" +     // 4 absurd
            "H2,household,F1,3,2026-06-01T00:00:00+00:00,0.4,0\n" +     // 5 ok
            "H2,household,F1,3,2026-06-01T00:00:00+00:00,0.4,0\n" +     // 6 identical duplicate
            "H2,household,F1,3,2026-06-01T00:15:00+00:00,0.2,0\n" +     // 7 conflicting
            "H2,household,F1,3,2026-06-01T00:15:00+00:00,0.3,0\n" +     // 8 conflicting
            "H2,household,F1,3,2026-06-01T00:45:00+00:00,0.3,0\n" +     // 9 ok
            "H2,household,F1,3,2026-06-01T00:30:00+00:00,0.3,0\n" +     // 10 out of order
            "H3,household,F1,3,2026-06-01T00:07:00+00:00,0.3,0\n" +     // 11 misaligned
            "H3,household,F1,3,2026-06-01 00:00,0.3,0\n" +              // 12 no offset
            "H3,household,F1,3,2026-06-01T00:00:00+00:00,abc,0\n" +     // 13 not a number
            "H3,household,F1\n" +                                       // 14 wrong field count
            "H3,house,F1,3,2026-06-01T00:00:00+00:00,1,0\n" +           // 15 bad kind
            "H3,household,F1,3,2026-06-01T00:45:00+00:00,1,0\n";        // 16 ok
        var data = MeterData.ParseCsv(csv, "m.csv");
        Assert.Equal([2, 5, 9, 16], data.Readings.Select(r => r.Line).Order());
        var reasons = data.Rejected.ToDictionary(r => r.Line, r => r.Reason);
        Assert.Contains("negative", reasons[3]);
        Assert.Contains("absurd", reasons[4]);
        Assert.Contains("duplicate of line 5", reasons[6]);
        Assert.Contains("conflicting", reasons[7]);
        Assert.Contains("conflicting", reasons[8]);
        Assert.Contains("out of order", reasons[10]);
        Assert.Contains("boundary", reasons[11]);
        Assert.Contains("ISO-8601", reasons[12]);
        Assert.Contains("import_kwh", reasons[13]);
        Assert.Contains("fields", reasons[14]);
        Assert.Contains("kind", reasons[15]);
        // every data row is either accepted or rejected
        Assert.Equal(15, data.Readings.Count + data.Rejected.Count);
        // gaps: H1 has 00:00 only (3 missing to 00:45), H2 misses 00:15 and 00:30, H3 misses 00:00–00:30
        Assert.Contains(data.Gaps, g => g.Meter == "H1" && g.Intervals == 3);
        Assert.Contains(data.Gaps, g => g.Meter == "H2" && g.Intervals == 2);
        Assert.Contains(data.Gaps, g => g.Meter == "H3" && g.Intervals == 3);
        string rejects = data.RejectsCsv();
        Assert.Contains("\"H1,household,F1,2,2026-06-01T00:15:00+00:00,-0.1,0\"", rejects);
        Assert.Contains("gap: meter H1", rejects);
    }

    [Fact]
    public void Json_readings_are_read_and_checked_the_same_way()
    {
        const string json = """
            [ { "meter": "H1", "kind": "household", "feeder": "F1", "bus": 2, "start": "2026-06-01T00:00:00+02:00", "importKwh": 0.5, "exportKwh": 0 },
              { "meter": "H1", "kind": "household", "feeder": "F1", "bus": 2, "start": "2026-06-01T00:15:00+02:00", "importKwh": -1, "exportKwh": 0 } ]
            """;
        var data = MeterData.ParseJson(json, "m.json");
        Assert.Single(data.Readings);
        Assert.Equal(2, data.Rejected[0].Line); // position in the array
        Assert.Throws<OpenTE.Grid.Input.InputException>(() => MeterData.ParseJson("{ \"x\": 1 }", "bad.json"));
        Assert.Throws<OpenTE.Grid.Input.InputException>(() => MeterData.ParseCsv("meter,feeder\n", "bad.csv"));
    }

    [Fact]
    public void Synthetic_feeder_reconciles_with_power_flow_losses_and_a_tampered_reading_is_found()
    {
        var net = TestData.Load("case33bw");
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.FromHours(2));
        var readings = SyntheticMeters.Generate(net, 60, start, 8, seed: 5);
        var data = MeterData.ParseCsv(MeterData.ToCsv(readings), "synthetic.csv");
        Assert.Empty(data.Rejected);
        var report = Aggregation.Reconcile(data, new LossModel.PowerFlow(net));
        Assert.Equal(8, report.Count);
        Assert.All(report, l => Assert.True(l.Balanced, $"{l.Start}: imbalance {l.Imbalance} kWh"));
        Assert.All(report, l => Assert.True(l.Losses > 0));

        // a household reading 3 kWh higher than what flowed: that interval no longer balances, by −3 kWh
        var tampered = readings.Select(r => r.Meter == "H00007" && r.Start == start.AddMinutes(45) ? r with { ImportKwh = r.ImportKwh + 3 } : r).ToList();
        var bad = Aggregation.Reconcile(MeterData.ParseCsv(MeterData.ToCsv(tampered), "t.csv"), new LossModel.PowerFlow(net));
        var flagged = Assert.Single(bad, l => !l.Balanced);
        Assert.Equal(start.AddMinutes(45), flagged.Start);
        Assert.InRange(flagged.Imbalance, -3.2, -2.8);
    }

    [Fact]
    public void Fractional_loss_model_and_incomplete_intervals()
    {
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var rows = new List<MeterReading>
        {
            new("H1", MeterKind.Household, "F1", null, start, 10, 0, 0),
            new("H2", MeterKind.Household, "F1", null, start, 20, 0, 0),
            new("HEAD", MeterKind.FeederHead, "F1", null, start, 0, 30.9, 0),
            new("H1", MeterKind.Household, "F1", null, start.AddMinutes(15), 10, 0, 0),
            new("HEAD", MeterKind.FeederHead, "F1", null, start.AddMinutes(15), 0, 30.9, 0),
        };
        var data = MeterData.ParseCsv(MeterData.ToCsv(rows), "f.csv");
        var report = Aggregation.Reconcile(data, new LossModel.Fraction(0.03));
        Assert.True(report[0].Balanced);
        Assert.Equal(0.9, report[0].Losses, 9);
        Assert.False(report[1].Complete);
        Assert.False(report[1].Balanced);
        Assert.Contains("without an accepted reading", report[1].Note);
    }
}
