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
}
