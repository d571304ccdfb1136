using OpenTE.Grid.Output;

namespace OpenTE.Settlement;

/// <summary>The settlement report as JSON (<c>opente settle --json</c>, docs/cli.md); read from the ledger (issue #23).</summary>
public static class SettleReportJson
{
    /// <param name="ledgerPath">The ledger file, when there is one.</param>
    /// <param name="chain">The chain the contract runs on (Ethereum backend), else null.</param>
    public static string ToJson(this SettleReport r, string? ledgerPath, (string Rpc, string Contract, long DeployBlock)? chain) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("market", r.Market);
        w.WriteString("backend", r.Backend);
        if (chain is not null)
        {
            w.WriteString("rpc", chain.Value.Rpc);
            w.WriteString("contract", chain.Value.Contract);
            w.WriteNumber("deployBlock", chain.Value.DeployBlock);
        }
        w.WriteNumber("trades", r.Trades);
        w.WriteNumber("opened", r.Opened);
        w.WriteNumber("refused", r.Refused);
        w.WriteNumber("settled", r.Settled);
        w.WriteNumber("refunded", r.Refunded);
        w.WriteNumber("open", r.StillOpen);
        w.WriteNumber("readings", r.Readings);
        w.WriteNumber("readingsAccepted", r.ReadingsAccepted);
        w.WriteNumber("readingsDuplicate", r.ReadingsDuplicate);
        w.WriteNumber("readingsConflicting", r.ReadingsConflicting);
        w.WriteNumber("readingsRefused", r.ReadingsRefused);
        w.WriteNumber("postings", r.Postings);
        w.WriteNumber("newPostings", r.NewPostings);
        if (ledgerPath is not null)
        {
            w.WriteString("ledger", ledgerPath);
            w.WriteNumber("ledgerEntries", r.LedgerEntries);
            w.WriteString("ledgerHead", r.LedgerHead);
        }
        w.WriteNumber("moneyTotal", r.MoneyTotal);
        w.WriteNumber("energyTotalWh", r.EnergyTotal);
        if (r.Carbon)
        {
            w.WriteStartObject("carbon");
            w.WriteNumber("co2TotalGrams", r.Co2Total);
            w.WriteNumber("carbonAccountGrams", r.CarbonAccountGrams);
            w.WriteNumber("carbonAccountMoney", r.CarbonAccountMoney);
            w.Objects("refused", r.CarbonRefused, x => { w.WriteString("id", x.Id); w.WriteString("reason", x.Reason); });
            w.WriteEndObject();
        }
        w.Objects("tradeResults", r.TradeOutcomes, t =>
        {
            w.WriteNumber("line", t.Line);
            w.WriteString("id", t.Id);
            w.WriteString("status", t.Status);
            if (t.Reason is not null) w.WriteString("reason", t.Reason);
            w.WriteNumber("quantityWh", t.QuantityWh);
            w.WriteNumber("deliveredWh", t.DeliveredWh);
            w.WriteNumber("sellerPaid", t.SellerPaid);
            w.WriteNumber("buyerRefund", t.BuyerRefund);
            w.WriteNumber("imbalanceAmount", t.ImbalanceAmount);
            if (r.Carbon)
            {
                w.WriteNumber("co2Grams", t.Co2Grams);
                w.WriteNumber("carbonMoney", t.CarbonMoney);
            }
        });
        w.Objects("readingResults", r.ReadingOutcomes.Where(x => x.Status != "accepted"), x =>
        {
            w.WriteNumber("line", x.Line);
            w.WriteString("meter", x.Meter);
            w.WriteString("interval", SettlementCsv.Time(x.IntervalStart));
            w.WriteString("status", x.Status);
            if (x.Reason is not null) w.WriteString("reason", x.Reason);
        });
        WriteBalances(w, r.Balances, r.Carbon);
        w.WriteEndObject();
    });

    /// <summary>The balances array of the settle and ledger-balance JSON.</summary>
    /// <param name="carbon">Add co2Grams and carbonMoney (settled with carbon, or a ledger that holds carbon postings).</param>
    public static void WriteBalances(System.Text.Json.Utf8JsonWriter w, IReadOnlyList<ParticipantBalance> b, bool carbon = false) =>
        w.Objects("balances", b, x =>
        {
            w.WriteString("participant", x.Participant);
            w.WriteNumber("available", x.Available);
            w.WriteNumber("escrow", x.Escrow);
            w.WriteNumber("collateral", x.Collateral);
            w.WriteNumber("energyWh", x.EnergyWh);
            if (carbon)
            {
                w.WriteNumber("co2Grams", x.Co2Grams);
                w.WriteNumber("carbonMoney", x.CarbonMoney);
            }
        });
}
