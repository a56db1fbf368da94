WITH f AS (
  SELECT *,
    CASE WHEN segment = $2 THEN $3 ELSE $1 END * "f_usage_drop" AS "c_usage_drop",
    $4 * "f_inactive_7d" AS "c_inactive_7d",
    $5 * "f_champion_left" AS "c_champion_left",
    $6 * "f_negative_tickets" AS "c_negative_tickets",
    $7 * "f_escalations" AS "c_escalations",
    $8 * "f_payment_trouble" AS "c_payment_trouble",
    $9 * "f_no_qbr" AS "c_no_qbr",
    $10 * "f_renewal_no_touch" AS "c_renewal_no_touch",
    $11 * "f_low_nps" AS "c_low_nps",
    $12 * "f_failed_payment" AS "c_failed_payment",
    $13 * "f_late_invoices" AS "c_late_invoices",
    $14 * "f_unreachable_payer" AS "c_unreachable_payer",
    $15 * "f_chargeback" AS "c_chargeback",
    $16 * "f_new_account_chargeback" AS "c_new_account_chargeback",
    $17 * "f_detractor" AS "c_detractor",
    $18 * "f_negative_ticket_burst" AS "c_negative_ticket_burst",
    $19 * "f_repeat_escalations" AS "c_repeat_escalations",
    $20 * "f_seats_full" AS "c_seats_full",
    $21 * "f_usage_growth" AS "c_usage_growth",
    $22 * "f_promoter" AS "c_promoter",
    $23 * "f_no_downgrade" AS "c_no_downgrade"
  FROM "firings"
),
d AS (
  SELECT *,
    LEAST(100.0, (floor(("c_usage_drop" + "c_inactive_7d" + "c_champion_left" + "c_negative_tickets" + "c_escalations" + "c_payment_trouble" + "c_no_qbr" + "c_renewal_no_touch" + "c_low_nps") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE))) AS "churn_score",
    (CASE WHEN "c_usage_drop" > 0 OR "c_inactive_7d" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_champion_left" > 0 OR "c_low_nps" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_negative_tickets" > 0 OR "c_escalations" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_payment_trouble" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_no_qbr" > 0 OR "c_renewal_no_touch" > 0 THEN 1 ELSE 0 END) AS "churn_groups",
    LEAST(100.0, (floor(("c_failed_payment" + "c_late_invoices" + "c_unreachable_payer") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE))) AS "payment_score",
    (CASE WHEN "c_failed_payment" > 0 OR "c_late_invoices" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_unreachable_payer" > 0 THEN 1 ELSE 0 END) AS "payment_groups",
    LEAST(100.0, (floor(("c_chargeback" + "c_new_account_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE))) AS "fraud_score",
    (CASE WHEN "c_chargeback" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_new_account_chargeback" > 0 THEN 1 ELSE 0 END) AS "fraud_groups",
    LEAST(100.0, (floor(("c_detractor" + "c_negative_ticket_burst" + "c_repeat_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE))) AS "reputation_score",
    (CASE WHEN "c_detractor" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_negative_ticket_burst" > 0 OR "c_repeat_escalations" > 0 THEN 1 ELSE 0 END) AS "reputation_groups",
    LEAST(100.0, (floor(("c_seats_full" + "c_usage_growth" + "c_promoter" + "c_no_downgrade") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE))) AS "expansion_score",
    (CASE WHEN "c_seats_full" > 0 OR "c_usage_growth" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_promoter" > 0 THEN 1 ELSE 0 END) + (CASE WHEN "c_no_downgrade" > 0 THEN 1 ELSE 0 END) AS "expansion_groups"
  FROM f
),
cuts AS (
  SELECT median(value) AS "value_cut"
  FROM d
),
t AS (
  SELECT d.*,
    CASE WHEN "churn_score" >= $25 AND "churn_groups" >= $26 THEN 'high' WHEN "churn_score" >= $24 THEN 'medium' ELSE 'low' END AS "churn_tier",
    CASE WHEN "payment_score" >= $28 AND "payment_groups" >= $29 THEN 'high' WHEN "payment_score" >= $27 THEN 'medium' ELSE 'low' END AS "payment_tier",
    CASE WHEN "fraud_score" >= $31 AND "fraud_groups" >= $32 THEN 'high' WHEN "fraud_score" >= $30 THEN 'medium' ELSE 'low' END AS "fraud_tier",
    CASE WHEN "reputation_score" >= $34 AND "reputation_groups" >= $35 THEN 'high' WHEN "reputation_score" >= $33 THEN 'medium' ELSE 'low' END AS "reputation_tier",
    CASE WHEN "expansion_score" >= $37 AND "expansion_groups" >= $38 THEN 'high' WHEN "expansion_score" >= $36 THEN 'medium' ELSE 'low' END AS "expansion_tier",
    CASE WHEN COALESCE(value >= "value_cut", false) THEN (CASE WHEN "churn_score" >= $39 AND "churn_groups" >= $40 THEN 'Save' ELSE 'Expand' END) ELSE (CASE WHEN "churn_score" >= $39 AND "churn_groups" >= $40 THEN 'Triage' ELSE 'Maintain' END) END AS quadrant,
    CAST(list_transform(list_sort(list_filter([
      CASE WHEN "c_usage_drop" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_usage_drop") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := 0), r := struct_pack(rule_id := $41, label := $42, dimension := $43, grp := $44, points := (floor(("c_usage_drop") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_usage_drop" AS VARCHAR))) END,
      CASE WHEN "c_inactive_7d" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_inactive_7d") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -1), r := struct_pack(rule_id := $45, label := $46, dimension := $47, grp := $48, points := (floor(("c_inactive_7d") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_inactive_7d" AS VARCHAR))) END,
      CASE WHEN "c_champion_left" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_champion_left") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -2), r := struct_pack(rule_id := $49, label := $50, dimension := $51, grp := $52, points := (floor(("c_champion_left") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_champion_left" AS VARCHAR))) END,
      CASE WHEN "c_negative_tickets" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_negative_tickets") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -3), r := struct_pack(rule_id := $53, label := $54, dimension := $55, grp := $56, points := (floor(("c_negative_tickets") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_negative_tickets" AS VARCHAR))) END,
      CASE WHEN "c_escalations" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -4), r := struct_pack(rule_id := $57, label := $58, dimension := $59, grp := $60, points := (floor(("c_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_escalations" AS VARCHAR))) END,
      CASE WHEN "c_payment_trouble" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_payment_trouble") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -5), r := struct_pack(rule_id := $61, label := $62, dimension := $63, grp := $64, points := (floor(("c_payment_trouble") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_payment_trouble" AS VARCHAR))) END,
      CASE WHEN "c_no_qbr" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_no_qbr") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -6), r := struct_pack(rule_id := $65, label := $66, dimension := $67, grp := $68, points := (floor(("c_no_qbr") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_no_qbr" AS VARCHAR))) END,
      CASE WHEN "c_renewal_no_touch" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_renewal_no_touch") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -7), r := struct_pack(rule_id := $69, label := $70, dimension := $71, grp := $72, points := (floor(("c_renewal_no_touch") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_renewal_no_touch" AS VARCHAR))) END,
      CASE WHEN "c_low_nps" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_low_nps") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -8), r := struct_pack(rule_id := $73, label := $74, dimension := $75, grp := $76, points := (floor(("c_low_nps") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_low_nps" AS VARCHAR))) END,
      CASE WHEN "c_failed_payment" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_failed_payment") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -9), r := struct_pack(rule_id := $77, label := $78, dimension := $79, grp := $80, points := (floor(("c_failed_payment") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_failed_payment" AS VARCHAR))) END,
      CASE WHEN "c_late_invoices" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_late_invoices") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -10), r := struct_pack(rule_id := $81, label := $82, dimension := $83, grp := $84, points := (floor(("c_late_invoices") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_late_invoices" AS VARCHAR))) END,
      CASE WHEN "c_unreachable_payer" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_unreachable_payer") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -11), r := struct_pack(rule_id := $85, label := $86, dimension := $87, grp := $88, points := (floor(("c_unreachable_payer") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_unreachable_payer" AS VARCHAR))) END,
      CASE WHEN "c_chargeback" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -12), r := struct_pack(rule_id := $89, label := $90, dimension := $91, grp := $92, points := (floor(("c_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_chargeback" AS VARCHAR))) END,
      CASE WHEN "c_new_account_chargeback" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_new_account_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -13), r := struct_pack(rule_id := $93, label := $94, dimension := $95, grp := $96, points := (floor(("c_new_account_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_new_account_chargeback" AS VARCHAR))) END,
      CASE WHEN "c_detractor" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_detractor") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -14), r := struct_pack(rule_id := $97, label := $98, dimension := $99, grp := $100, points := (floor(("c_detractor") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_detractor" AS VARCHAR))) END,
      CASE WHEN "c_negative_ticket_burst" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_negative_ticket_burst") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -15), r := struct_pack(rule_id := $101, label := $102, dimension := $103, grp := $104, points := (floor(("c_negative_ticket_burst") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_negative_ticket_burst" AS VARCHAR))) END,
      CASE WHEN "c_repeat_escalations" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_repeat_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -16), r := struct_pack(rule_id := $105, label := $106, dimension := $107, grp := $108, points := (floor(("c_repeat_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_repeat_escalations" AS VARCHAR))) END,
      CASE WHEN "c_seats_full" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_seats_full") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -17), r := struct_pack(rule_id := $109, label := $110, dimension := $111, grp := $112, points := (floor(("c_seats_full") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_seats_full" AS VARCHAR))) END,
      CASE WHEN "c_usage_growth" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_usage_growth") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -18), r := struct_pack(rule_id := $113, label := $114, dimension := $115, grp := $116, points := (floor(("c_usage_growth") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_usage_growth" AS VARCHAR))) END,
      CASE WHEN "c_promoter" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_promoter") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -19), r := struct_pack(rule_id := $117, label := $118, dimension := $119, grp := $120, points := (floor(("c_promoter") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_promoter" AS VARCHAR))) END,
      CASE WHEN "c_no_downgrade" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_no_downgrade") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -20), r := struct_pack(rule_id := $121, label := $122, dimension := $123, grp := $124, points := (floor(("c_no_downgrade") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_no_downgrade" AS VARCHAR))) END
    ], lambda x: x IS NOT NULL), 'DESC'), lambda x: x.r) AS STRUCT(rule_id VARCHAR, label VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, value VARCHAR)[]) AS reasons
  FROM d CROSS JOIN cuts
)
SELECT
  "account_id", "account_name", "segment", "csm_owner", "stage", "value", "renewal_date", "marketing_consent",
  "churn_score", "churn_tier",
  "payment_score", "payment_tier",
  "fraud_score", "fraud_tier",
  "reputation_score", "reputation_tier",
  "expansion_score", "expansion_tier",
  "churn_score" AS risk_score, "churn_tier" AS tier,
  quadrant, reasons,
  (SELECT pb.playbook_id FROM "playbooks" pb
     WHERE (pb.quadrant IS NULL OR lower(pb.quadrant) = lower(t.quadrant))
       AND (pb.dimension IS NULL OR pb.dimension IN ($130, $131, $132, $133, $134))
       AND (pb.tier IS NULL
            OR (pb.dimension IS NOT NULL AND pb.tier = CASE pb.dimension WHEN $125 THEN t."churn_tier" WHEN $126 THEN t."payment_tier" WHEN $127 THEN t."fraud_tier" WHEN $128 THEN t."reputation_tier" WHEN $129 THEN t."expansion_tier" END)
            OR (pb.dimension IS NULL AND pb.tier IN (t."churn_tier", t."payment_tier", t."fraud_tier", t."reputation_tier", t."expansion_tier")))
     ORDER BY pb.priority, pb.ord LIMIT 1) AS playbook
FROM t
-- params: [20.0, "Enterprise", 10.0, 15.0, 25.0, 15.0, 10.0, 10.0, 10.0, 30.0, 10.0, 15.0, 10.0, 10.0, 40.0, 30.0, 40.0, 30.0, 20.0, 40.0, 20.0, 20.0, 10.0, 31.0, 61.0, 2, 15.0, 30.0, 2, 30.0, 60.0, 2, 31.0, 61.0, 2, 31.0, 61.0, 2, 61.0, 2, "usage_drop", "Usage down more than 30% in 30 days", "churn", "usage", "inactive_7d", "No login for 7 days or more", "churn", "usage", "champion_left", "Champion left in the last 90 days", "churn", "relationship", "negative_tickets", "Negative support tickets in the last 30 days", "churn", "support", "escalations", "Escalated tickets in the last 90 days", "churn", "support", "payment_trouble", "Failed payment in the last 30 days", "churn", "billing", "no_qbr", "No QBR in 6 months (or never)", "churn", "engagement", "renewal_no_touch", "Renewal within 60 days and no touch in 30 days", "churn", "engagement", "low_nps", "Last NPS 6 or less (detractor)", "churn", "relationship", "failed_payment", "Failed payment in the last 30 days", "payment", "billing", "late_invoices", "Invoices paid late or unpaid in the last 90 days", "payment", "billing", "unreachable_payer", "Billing trouble and no touch in 60 days", "payment", "engagement", "chargeback", "Chargeback in the last 180 days", "fraud", "billing", "new_account_chargeback", "Chargeback on an account younger than 90 days", "fraud", "external", "detractor", "NPS detractor (graded: 6 -> 0 points, 0 -> full)", "reputation", "relationship", "negative_ticket_burst", "Two or more negative tickets in 30 days", "reputation", "support", "repeat_escalations", "Two or more escalations in 90 days", "reputation", "support", "seats_full", "Seat utilisation above 90%", "expansion", "usage", "usage_growth", "Usage up more than 20% in 30 days", "expansion", "usage", "promoter", "Last NPS 9 or 10 (promoter)", "expansion", "relationship", "no_downgrade", "No downgrade in 180 days", "expansion", "engagement", "churn", "payment", "fraud", "reputation", "expansion", "churn", "payment", "fraud", "reputation", "expansion"]
