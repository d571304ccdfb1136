using OpenTE.Grid.Input;

namespace OpenTE.Grid.Tests;

public class CsvTableTests
{
    private static readonly string[][] Headers = [["a", "b"], ["a", "b", "c"]];

    [Fact]
    public void Bom_crlf_comments_and_blank_lines_keep_file_lines()
    {
        var t = CsvTable.Parse("\uFEFF# comment\r\n\r\nA, B , C\r\n1,2,3\r\n# skipped\r\n\r\n4,5,6\r\n", "t.csv", Headers);
        Assert.Equal(["a", "b", "c"], t.Columns);
        Assert.Equal(3, t.HeaderLine);
        Assert.Equal([4, 7], t.Rows.Select(r => r.Line));
        Assert.Equal("5", t.Rows[1]["b"]);
        Assert.True(t.Has("c"));
    }

    [Theory]
    [InlineData("", "t.csv:1: the file has no header", "header")]
    [InlineData("# only\n", "t.csv:1: the file has no header", "header")]
    [InlineData("x,y\n", "t.csv:1: the header is 'x,y'", "header")]
    [InlineData("a,b\n1,2,3\n", "t.csv:2: the row has 3 columns where the header has 2", "columns")]
    [InlineData("a,b\n1\n", "t.csv:2: the row has 1 columns", "columns")]
    public void Structure_errors_name_file_line_and_field(string text, string message, string field)
    {
        var e = Assert.Throws<InputException>(() => CsvTable.Parse(text, "t.csv", Headers));
        Assert.StartsWith(message, e.Message);
        Assert.Equal(field, e.Field);
        Assert.False(string.IsNullOrWhiteSpace(e.Hint));
    }

    [Fact]
    public void Binary_headers_are_not_echoed_raw()
    {
        string garbage = new string('\u0001', 200) + "\u0007zz";
        var e = Assert.Throws<InputException>(() => CsvTable.Parse(garbage + "\n", "t.csv", Headers));
        Assert.DoesNotContain('\u0001', e.Message);
        Assert.True(e.Message.Length < 200, e.Message);
    }

    [Theory]
    [InlineData("x", "b: 'x' is not a finite number")]
    [InlineData("NaN", "is not a finite number")]
    [InlineData("Infinity", "is not a finite number")]
    [InlineData("1e308", "is outside")]
    [InlineData("-3", "is outside")]
    public void Numbers_are_finite_and_within_bounds(string cell, string message)
    {
        var row = CsvTable.Parse($"a,b\n1,{cell}\n", "t.csv", Headers).Rows[0];
        var e = Assert.Throws<InputException>(() => row.Number("b", "fix", 0, 1e6));
        Assert.Contains(message, e.Message);
        Assert.Equal("b", e.Field);
        Assert.StartsWith("t.csv:2:", e.Message);
    }

    [Fact]
    public void Times_need_their_offset()
    {
        var t = CsvTable.Parse("a,b\n2026-06-01T14:15:00+02:00,1\n2026-06-01T14:15:00Z,1\n2026-06-01T14:15:00,1\n", "t.csv", Headers);
        Assert.Equal(TimeSpan.FromHours(2), t.Rows[0].Time("a").Offset);
        Assert.Equal(TimeSpan.Zero, t.Rows[1].Time("a").Offset);
        Assert.Contains("with offset", Assert.Throws<InputException>(() => t.Rows[2].Time("a")).Message);
        Assert.Equal(-0.0, CsvTable.Parse("a,b\n1,-0\n", "t.csv", Headers).Rows[0].Number("b", "fix"));
        Assert.False(double.IsNegative(CsvTable.Parse("a,b\n1,-0\n", "t.csv", Headers).Rows[0].Number("b", "fix")));
    }
}
