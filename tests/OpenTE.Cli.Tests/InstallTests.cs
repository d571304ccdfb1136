using System.Xml.Linq;

namespace OpenTE.Cli.Tests;

/// <summary>Issue #17 "install once": the CLI project is a .NET tool, the publish script makes a single file, and an
/// installed `opente` (whose binary is outside the clone) still finds ../shared/cases from the current folder.</summary>
public class InstallTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OpenTE.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("OpenTE.slnx not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_cli_project_packs_as_the_opente_tool_compiled_ahead_of_time()
    {
        var doc = XDocument.Load(Path.Combine(RepoRoot(), "src", "OpenTE.Cli", "OpenTE.Cli.csproj"));
        string? Prop(string name) => doc.Descendants(name).Select(e => e.Value).FirstOrDefault();
        Assert.Equal("true", Prop("PackAsTool"));
        Assert.Equal("opente", Prop("ToolCommandName"));
        Assert.Equal("OpenTE.Cli", Prop("PackageId"));
        Assert.Equal("true", Prop("PublishReadyToRun"));
        Assert.False(string.IsNullOrEmpty(Prop("ToolPackageRuntimeIdentifiers")), "the ReadyToRun tool package needs a RID");
    }

    [Fact]
    public void The_publish_script_makes_a_self_contained_single_file_with_its_native_libraries()
    {
        string script = Path.Combine(RepoRoot(), "scripts", "publish.sh");
        string text = File.ReadAllText(script);
        foreach (var flag in new[] { "--self-contained true", "-p:PublishSingleFile=true", "-p:IncludeNativeLibrariesForSelfExtract=true", "-p:PublishReadyToRun=true", "rid=\"${1:-linux-x64}\"" })
            Assert.Contains(flag, text);
        if (!OperatingSystem.IsWindows())
            Assert.True((File.GetUnixFileMode(script) & UnixFileMode.UserExecute) != 0, "scripts/publish.sh must be executable");
        Assert.Contains("/publish/", File.ReadAllLines(Path.Combine(RepoRoot(), ".gitignore")));
        Assert.Contains("/nupkg/", File.ReadAllLines(Path.Combine(RepoRoot(), ".gitignore")));
    }

    [Fact]
    public void Bare_case_names_are_found_upward_from_a_folder_deep_inside_the_clone()
    {
        string deep = Path.Combine(RepoRoot(), "src", "OpenTE.Cli", "Commands");
        string? found = CaseLocator.CaseDirectoriesAbove(deep).FirstOrDefault(d => File.Exists(Path.Combine(d, "case9.m")));
        Assert.NotNull(found);
        Assert.Equal(Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "cases")), Path.GetFullPath(found));
        // a folder with no shared/cases above it gives nothing (the root of the file system has none)
        Assert.DoesNotContain(CaseLocator.CaseDirectoriesAbove(Path.GetPathRoot(deep)!), d => File.Exists(Path.Combine(d, "case9.m")));
    }
}
