namespace OpenTE.Grid.Metering;

// The one meter-reading type of the platform: metering (validation, reconciliation with the network), privacy
// (differentially private aggregates) and settlement (a meter oracle signs OracleReading.From(reading, …)) all read it.

public enum MeterKind { Household, FeederHead, Generator }

/// <summary>
/// One interval reading. <c>ImportKwh</c> is energy taken from the feeder (withdrawal), <c>ExportKwh</c>
/// energy fed into it (injection) — for a feeder-head meter the substation's supply is its export.
/// </summary>
public sealed record MeterReading(string Meter, MeterKind Kind, string Feeder, int? Bus, DateTimeOffset Start,
    double ImportKwh, double ExportKwh, int Line);
