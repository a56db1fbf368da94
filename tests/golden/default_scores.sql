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
    CASE WHEN "payment_score" >= $29 AND "payment_groups" >= $30 THEN 'high' WHEN "payment_score" >= $28 THEN 'medium' ELSE 'low' END AS "payment_tier",
    CASE WHEN "fraud_score" >= $32 AND "fraud_groups" >= $33 THEN 'high' WHEN "fraud_score" >= $31 THEN 'medium' ELSE 'low' END AS "fraud_tier",
    CASE WHEN "reputation_score" >= $35 AND "reputation_groups" >= $36 THEN 'high' WHEN "reputation_score" >= $34 THEN 'medium' ELSE 'low' END AS "reputation_tier",
    CASE WHEN "expansion_score" >= $38 AND "expansion_groups" >= $39 THEN 'high' WHEN "expansion_score" >= $37 THEN 'medium' ELSE 'low' END AS "expansion_tier",
    CASE WHEN COALESCE(value >= "value_cut", false) THEN (CASE WHEN "churn_score" >= $25 AND "churn_groups" >= $27 THEN 'Save' ELSE 'Expand' END) ELSE (CASE WHEN "churn_score" >= $25 AND "churn_groups" >= $27 THEN 'Triage' ELSE 'Maintain' END) END AS quadrant,
    CAST(list_transform(list_sort(list_filter([
      CASE WHEN "c_usage_drop" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_usage_drop") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := 0), r := struct_pack(rule_id := $42, label := $40, dimension := $43, grp := $44, points := (floor(("c_usage_drop") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_usage_drop" AS VARCHAR), condition := $41)) END,
      CASE WHEN "c_inactive_7d" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_inactive_7d") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -1), r := struct_pack(rule_id := $51, label := CASE WHEN stage = $45 THEN $48 ELSE $46 END, dimension := $52, grp := $53, points := (floor(("c_inactive_7d") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_inactive_7d" AS VARCHAR), condition := CASE WHEN "v_inactive_7d" IS NULL THEN $50 ELSE CASE WHEN stage = $45 THEN $49 ELSE $47 END END)) END,
      CASE WHEN "c_champion_left" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_champion_left") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -2), r := struct_pack(rule_id := $56, label := $54, dimension := $57, grp := $58, points := (floor(("c_champion_left") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_champion_left" AS VARCHAR), condition := $55)) END,
      CASE WHEN "c_negative_tickets" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_negative_tickets") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -3), r := struct_pack(rule_id := $61, label := $59, dimension := $62, grp := $63, points := (floor(("c_negative_tickets") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_negative_tickets" AS VARCHAR), condition := $60)) END,
      CASE WHEN "c_escalations" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -4), r := struct_pack(rule_id := $66, label := $64, dimension := $67, grp := $68, points := (floor(("c_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_escalations" AS VARCHAR), condition := $65)) END,
      CASE WHEN "c_payment_trouble" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_payment_trouble") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -5), r := struct_pack(rule_id := $71, label := $69, dimension := $72, grp := $73, points := (floor(("c_payment_trouble") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_payment_trouble" AS VARCHAR), condition := $70)) END,
      CASE WHEN "c_no_qbr" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_no_qbr") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -6), r := struct_pack(rule_id := $80, label := CASE WHEN segment = $74 THEN $77 ELSE $75 END, dimension := $81, grp := $82, points := (floor(("c_no_qbr") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_no_qbr" AS VARCHAR), condition := CASE WHEN "v_no_qbr" IS NULL THEN $79 ELSE CASE WHEN segment = $74 THEN $78 ELSE $76 END END)) END,
      CASE WHEN "c_renewal_no_touch" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_renewal_no_touch") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -7), r := struct_pack(rule_id := $85, label := $83, dimension := $86, grp := $87, points := (floor(("c_renewal_no_touch") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_renewal_no_touch" AS VARCHAR), condition := $84)) END,
      CASE WHEN "c_low_nps" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_low_nps") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -8), r := struct_pack(rule_id := $90, label := $88, dimension := $91, grp := $92, points := (floor(("c_low_nps") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_low_nps" AS VARCHAR), condition := $89)) END,
      CASE WHEN "c_failed_payment" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_failed_payment") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -9), r := struct_pack(rule_id := $95, label := $93, dimension := $96, grp := $97, points := (floor(("c_failed_payment") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_failed_payment" AS VARCHAR), condition := $94)) END,
      CASE WHEN "c_late_invoices" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_late_invoices") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -10), r := struct_pack(rule_id := $100, label := $98, dimension := $101, grp := $102, points := (floor(("c_late_invoices") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_late_invoices" AS VARCHAR), condition := $99)) END,
      CASE WHEN "c_unreachable_payer" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_unreachable_payer") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -11), r := struct_pack(rule_id := $105, label := $103, dimension := $106, grp := $107, points := (floor(("c_unreachable_payer") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_unreachable_payer" AS VARCHAR), condition := $104)) END,
      CASE WHEN "c_chargeback" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -12), r := struct_pack(rule_id := $110, label := $108, dimension := $111, grp := $112, points := (floor(("c_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_chargeback" AS VARCHAR), condition := $109)) END,
      CASE WHEN "c_new_account_chargeback" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_new_account_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -13), r := struct_pack(rule_id := $115, label := $113, dimension := $116, grp := $117, points := (floor(("c_new_account_chargeback") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_new_account_chargeback" AS VARCHAR), condition := $114)) END,
      CASE WHEN "c_detractor" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_detractor") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -14), r := struct_pack(rule_id := $120, label := $118, dimension := $121, grp := $122, points := (floor(("c_detractor") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_detractor" AS VARCHAR), condition := $119)) END,
      CASE WHEN "c_negative_ticket_burst" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_negative_ticket_burst") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -15), r := struct_pack(rule_id := $125, label := $123, dimension := $126, grp := $127, points := (floor(("c_negative_ticket_burst") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_negative_ticket_burst" AS VARCHAR), condition := $124)) END,
      CASE WHEN "c_repeat_escalations" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_repeat_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -16), r := struct_pack(rule_id := $130, label := $128, dimension := $131, grp := $132, points := (floor(("c_repeat_escalations") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_repeat_escalations" AS VARCHAR), condition := $129)) END,
      CASE WHEN "c_seats_full" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_seats_full") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -17), r := struct_pack(rule_id := $135, label := $133, dimension := $136, grp := $137, points := (floor(("c_seats_full") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_seats_full" AS VARCHAR), condition := $134)) END,
      CASE WHEN "c_usage_growth" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_usage_growth") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -18), r := struct_pack(rule_id := $140, label := $138, dimension := $141, grp := $142, points := (floor(("c_usage_growth") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_usage_growth" AS VARCHAR), condition := $139)) END,
      CASE WHEN "c_promoter" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_promoter") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -19), r := struct_pack(rule_id := $145, label := $143, dimension := $146, grp := $147, points := (floor(("c_promoter") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_promoter" AS VARCHAR), condition := $144)) END,
      CASE WHEN "c_no_downgrade" > 0 THEN struct_pack(k := struct_pack(p := (floor(("c_no_downgrade") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), o := -20), r := struct_pack(rule_id := $150, label := $148, dimension := $151, grp := $152, points := (floor(("c_no_downgrade") * CAST(10000 AS DOUBLE) + 0.5) / CAST(10000 AS DOUBLE)), value := CAST("v_no_downgrade" AS VARCHAR), condition := $149)) END
    ], lambda x: x IS NOT NULL), 'DESC'), lambda x: x.r) AS STRUCT(rule_id VARCHAR, label VARCHAR, dimension VARCHAR, grp VARCHAR, points DOUBLE, value VARCHAR, condition VARCHAR)[]) AS reasons
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
       AND (pb.dimension IS NULL OR pb.dimension IN ($158, $159, $160, $161, $162))
       AND (pb.tier IS NULL
            OR (pb.dimension IS NOT NULL AND pb.tier = CASE pb.dimension WHEN $153 THEN t."churn_tier" WHEN $154 THEN t."payment_tier" WHEN $155 THEN t."fraud_tier" WHEN $156 THEN t."reputation_tier" WHEN $157 THEN t."expansion_tier" END)
            OR (pb.dimension IS NULL AND pb.tier IN (t."churn_tier", t."payment_tier", t."fraud_tier", t."reputation_tier", t."expansion_tier")))
     ORDER BY pb.priority, pb.ord LIMIT 1) AS playbook
FROM t
-- params: [20.0, "Enterprise", 10.0, 15.0, 25.0, 15.0, 10.0, 10.0, 10.0, 30.0, 10.0, 15.0, 10.0, 10.0, 40.0, 30.0, 40.0, 30.0, 20.0, 40.0, 20.0, 20.0, 10.0, 31.0, 61.0, 2, 2, 15.0, 30.0, 2, 30.0, 60.0, 2, 31.0, 61.0, 2, 31.0, 61.0, 2, "Usage change below -30% in 30 days", "usage_change_30d < -0.3", "usage_drop", "churn", "usage", "onboarding", "No login for 7 days or more (or never)", "days_since_last_login >= 7", "No login for 3 days or more (or never)", "days_since_last_login >= 3", "days_since_last_login is empty (the rule fires on no value)", "inactive_7d", "churn", "usage", "Champion left in the last 90 days", "champion_left_90d", "champion_left", "churn", "relationship", "1 or more negative support tickets in 30 days", "negative_tickets_30d >= 1", "negative_tickets", "churn", "support", "1 or more escalated tickets in 90 days", "escalations_90d >= 1", "escalations", "churn", "support", "1 or more failed payments in 30 days", "failed_payments_30d >= 1", "payment_trouble", "churn", "billing", "Enterprise", "No QBR for more than 180 days (or never)", "days_since_qbr > 180", "No QBR for more than 100 days (or never)", "days_since_qbr > 100", "days_since_qbr is empty (the rule fires on no value)", "no_qbr", "churn", "engagement", "Renewal within 60 days and no touch in 30 days", "days_to_renewal <= 60 AND COALESCE(days_since_last_touch, 9999) > 30", "renewal_no_touch", "churn", "engagement", "Last NPS 6 or less (detractor)", "last_nps <= 6", "low_nps", "churn", "relationship", "1 or more failed payments in 30 days", "failed_payments_30d >= 1", "failed_payment", "payment", "billing", "1 or more invoices paid late or unpaid in 90 days", "late_invoices_90d >= 1", "late_invoices", "payment", "billing", "Billing trouble and no touch in 60 days", "failed_payments_30d + late_invoices_90d >= 1 AND COALESCE(days_since_last_touch, 9999) > 60", "unreachable_payer", "payment", "engagement", "1 or more chargebacks in 180 days", "chargebacks_180d >= 1", "chargeback", "fraud", "billing", "Chargeback on an account younger than 90 days", "tenure_days < 90 AND chargebacks_180d >= 1", "new_account_chargeback", "fraud", "external", "NPS detractor (graded: 6 -> 0 points, 0 -> full)", "last_nps < 6 (full points at 0)", "detractor", "reputation", "relationship", "2 or more negative tickets in 30 days", "negative_tickets_30d >= 2", "negative_ticket_burst", "reputation", "support", "2 or more escalations in 90 days", "escalations_90d >= 2", "repeat_escalations", "reputation", "support", "Seat utilisation above 90%", "seat_utilization > 0.9", "seats_full", "expansion", "usage", "Usage up more than 20% in 30 days", "usage_change_30d > 0.2", "usage_growth", "expansion", "usage", "Last NPS 9 or more (promoter)", "last_nps >= 9", "promoter", "expansion", "relationship", "Downgrades in 180 days: 0", "downgrades_180d = 0", "no_downgrade", "expansion", "engagement", "churn", "payment", "fraud", "reputation", "expansion", "churn", "payment", "fraud", "reputation", "expansion"]
