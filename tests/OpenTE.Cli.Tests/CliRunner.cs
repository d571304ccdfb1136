namespace OpenTE.Cli.Tests;

/// <summary>Runs the opente command in-process with captured standard output and error.</summary>
internal static class CliRunner
{
    /// <summary>A file of the repository (examples/…) found upward from the test binary.</summary>
    public static string Repo(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException(relative);
    }

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
