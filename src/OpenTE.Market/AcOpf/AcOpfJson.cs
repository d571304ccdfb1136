using OpenTE.Grid.Output;
using OpenTE.Market.Outcome;

namespace OpenTE.Market.AcOpf;

/// <summary>The AC OPF result as the JSON of DESIGN.md §5 (<c>opente opf --model ac --json</c>).</summary>
public static class AcOpfJson
{
    public static string ToJson(this AcOpfResult r) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.OpfHead(r.Case, "ac", r.Status.Word(), r.Objective, r.SolveSeconds);
        w.WriteString("solver", r.Solver);
        bool ok = r.Status == ClearingStatus.Optimal; // the last iterate of a failed solve is not a dispatch: empty lists, as the DC OPF
        w.Objects("buses", ok ? r.Buses : [], b =>
        {
            w.WriteNumber("id", b.Id);
            w.Number("vm", b.Vm);
            w.Number("vaDeg", b.VaDeg);
            w.Number("lmp", b.Lmp);
            w.Number("lmpQ", b.LmpQ);
            w.Number("muVmax", b.MuVmax);
            w.Number("muVmin", b.MuVmin);
            w.Number("lmpEnergy", b.Parts?.Energy ?? double.NaN);
            w.Number("lmpCongestion", b.Parts?.Congestion ?? double.NaN);
            w.Number("lmpLoss", b.Parts?.Loss ?? double.NaN);
            w.Number("lmpVoltage", b.Parts?.Voltage ?? double.NaN);
            w.Number("lmpQLoss", b.Parts?.QLoss ?? double.NaN);
            w.Number("lmpQCongestion", b.Parts?.QCongestion ?? double.NaN);
            w.Number("lmpQVoltage", b.Parts?.QVoltage ?? double.NaN);
        });
        w.Objects("generators", ok ? r.Generators : [], g => w.GeneratorFields(g.Index, g.Bus, g.Pg, g.Qg));
        w.Objects("branches", ok ? r.Branches : [], l =>
        {
            w.BranchFields(l.Index, l.From, l.To, l.Pf, l.Qf, l.Pt, l.Qt);
            w.Number("muSf", l.MuSf);
            w.Number("muSt", l.MuSt);
        });
        w.Number("lossesMw", ok ? r.LossesMw : double.NaN);
        w.WriteNumber("iterations", r.Iterations);
        w.Strings("messages", r.Messages);
        w.WriteEndObject();
    });
}
