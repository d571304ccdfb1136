namespace OpenTE.Cli.Tests;

/// <summary>Issue #17's first-hour items, one CLI test each so none comes back.</summary>
public class FirstHourTests
{
    [Fact]
    public void Glop_on_quadratic_costs_is_bad_usage_with_the_fix_not_a_crash()
    {
        var (code, _, err) = CliRunner.Run("opf", "case30", "--model", "dc", "--solver", "glop");
        Assert.Equal(2, code);
        Assert.Contains("quadratic costs", err);
        Assert.Contains("--solver ipm", err);
        Assert.DoesNotContain("unexpected failure", err);
    }

    [Fact]
    public void An_option_without_its_value_says_which_values_it_takes()
    {
        var (code, _, err) = CliRunner.Run("opf", "case9", "--model");
        Assert.Equal(2, code);
        Assert.Contains("--model needs a value: dc or ac", err);
        Assert.DoesNotContain("__default_command", err);
    }

    [Fact]
    public void Counts_are_written_in_the_singular_for_one()
    {
        var (code, output, err) = CliRunner.Run("scopf", "case9");
        Assert.True(code == 0, err);
        Assert.Contains("1 screening round,", output);
        Assert.DoesNotContain("1 screening rounds", output);
    }

    [Fact]
    public void Csv_writes_every_row_of_every_table_and_all_lifts_the_cut()
    {
        string dir = Path.Combine(Path.GetTempPath(), "opente-csv-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (code, output, err) = CliRunner.Run("pf", "case118", "--csv", dir);
            Assert.True(code == 0, err);
            Assert.Contains("more rows", output);                       // the console keeps its cut …
            var buses = File.ReadAllLines(Path.Combine(dir, "buses.csv"));
            Assert.Equal("bus,Vm (p.u.),Va (deg),P inj (MW),Q inj (MVAr)", buses[0]);
            Assert.Equal(119, buses.Length);                              // … the CSV has all 118 buses
            Assert.Equal(187, File.ReadAllLines(Path.Combine(dir, "branch-flows.csv")).Length);
            Assert.Contains("buses.csv", err);

            var (code2, all, _) = CliRunner.Run("pf", "case118", "--all");
            Assert.Equal(0, code2);
            Assert.DoesNotContain("more rows", all);
            Assert.Contains("│ 118 │", all.Replace("  ", " ").Replace("  ", " "));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Csv_into_a_file_path_is_bad_usage()
    {
        string file = Path.GetTempFileName();
        try
        {
            var (code, _, err) = CliRunner.Run("pf", "case9", "--csv", file);
            Assert.Equal(2, code);
            Assert.Contains("--csv", err);
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("pf", "case118", "", ".png")]
    [InlineData("pf", "case9", "", ".svg")]
    [InlineData("opf", "case30", "--model dc", ".png")]
    [InlineData("opf", "case30", "--model ac", ".png")]
    [InlineData("scopf", "case30", "", ".png")]
    public void Plot_draws_the_result(string command, string caseName, string extra, string ext)
    {
        string file = Path.Combine(Path.GetTempPath(), $"opente-plot-{Guid.NewGuid():N}{ext}");
        try
        {
            var args = new List<string> { command, caseName };
            args.AddRange(extra.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            args.AddRange(["--plot", file]);
            var (code, _, err) = CliRunner.Run([.. args]);
            Assert.True(code == 0, err);
            Assert.Contains("plot: " + file, err);
            var bytes = File.ReadAllBytes(file);
            if (ext == ".png") Assert.Equal([0x89, 0x50, 0x4E, 0x47], bytes[..4]);
            else Assert.Contains("<svg", System.Text.Encoding.UTF8.GetString(bytes));
            Assert.True(bytes.Length > 10_000, $"{file}: only {bytes.Length} bytes");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Pf_shows_generators_and_branch_loading_in_percent_of_rating()
    {
        var (code, output, err) = CliRunner.Run("pf", "case30", "--all");
        Assert.True(code == 0, err);
        Assert.Contains("Generators", output);
        Assert.Contains("loading (% of rateA)", output);
    }

    [Theory]
    [InlineData("case5", "examples/case5-bids.csv")]
    [InlineData("case30", "examples/case30-strategic-bids.csv")]
    public void Clear_explains_its_welfare_and_the_parts_add_up(string caseName, string bids)
    {
        var (code, output, err) = CliRunner.Run("clear", caseName, "--bids", CliRunner.Repo(bids));
        Assert.True(code == 0, err);
        Assert.Contains("payments of the case's fixed demand", output);
        var parts = output.Split('\n').Where(l => l.Contains('│') && (l.Contains("surplus") || l.Contains("rent") || l.Contains("payments of") || l.Contains("value of lost load") || l.Contains("= welfare")))
            .Select(l => l.Split('│', StringSplitOptions.RemoveEmptyEntries).Select(c => c.Trim()).Where(c => c.Length > 0).ToArray())
            .Where(c => c.Length == 2 && double.TryParse(c[1], System.Globalization.CultureInfo.InvariantCulture, out _))
            .Select(c => (c[0], double.Parse(c[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
        var total = parts.Single(p => p.Item1.StartsWith("= welfare")).Item2;
        double sum = parts.Where(p => !p.Item1.StartsWith("= welfare")).Sum(p => p.Item2);
        Assert.True(parts.Count >= 5, string.Join("; ", parts));
        Assert.Equal(total, sum, 0.05);
        Assert.Contains($"welfare {total:0.##}", output.Replace(",", ""));
    }

    [Fact]
    public void The_privacy_utility_plot_labels_its_log_axes_with_values_not_log10_numbers()
    {
        var (x, y) = OpenTE.Cli.Commands.PrivacyUtilityCommand.LogTicks([0.05, 1, 5], [0.012, 0.35, 12]);
        Assert.Equal(["0.05", "1", "5"], x.Select(t => t.Label));
        Assert.Equal(Math.Log10(0.05), x[0].Position, 12);
        Assert.Equal(["1 %", "10 %", "100 %", "1000 %", "10000 %"], y.Select(t => t.Label)); // decades from 1.2 % to 1200 %
    }
}
