-- Other versions' results looked up by their own id (GET /v1/results/{task}/{result_id}: a
-- shadow or backfill result). The primary key starts with (task, submission_id), so without
-- this index the lookup read every row of the task.
CREATE INDEX model_results_result_id ON model_results (task, result_id);
