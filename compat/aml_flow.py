"""AML's flow through boto3's machinelearning client, against a perch server.

Run by compat_test.go with:
  PERCH_URL                    the server (endpoint_url)
  AWS_SHARED_CREDENTIALS_FILE  the server's root-aws-credentials
  PERCH_OBJECTS                the server's objects folder, where
                               s3://bucket/key is bucket/key; or
  PERCH_S3_ENDPOINT            the S3 server of the server's bucket
  PERCH_MAX_PASSES             sgd.maxPasses for the model
The Adult training file is at s3://bucket/adult/train.csv, the wine
quality file at s3://bucket/wine/wine.csv.
"""

import datetime
import gzip
import json
import os
import sys
import time
from unittest import mock

import boto3
import botocore
import botocore.auth
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["PERCH_URL"]
OBJECTS = os.environ.get("PERCH_OBJECTS")
S3_ENDPOINT = os.environ.get("PERCH_S3_ENDPOINT")
PASSES = os.environ.get("PERCH_MAX_PASSES", "5")
FAST = {"Delay": 1, "MaxAttempts": 240}

ml = boto3.client("machinelearning", region_name="us-east-1", endpoint_url=URL)

SCHEMA = json.dumps({
    "version": "1.0", "rowId": None, "targetAttributeName": "income",
    "dataFormat": "CSV", "dataFileContainsHeader": True,
    # perch's extension: the value of the BINARY target that means 1.
    "positiveValue": ">50K",
    "attributes": [
        {"attributeName": n, "attributeType": t} for n, t in [
            ("age", "NUMERIC"), ("workclass", "CATEGORICAL"), ("fnlwgt", "NUMERIC"),
            ("education", "CATEGORICAL"), ("education_num", "NUMERIC"),
            ("marital_status", "CATEGORICAL"), ("occupation", "CATEGORICAL"),
            ("relationship", "CATEGORICAL"), ("race", "CATEGORICAL"), ("sex", "CATEGORICAL"),
            ("capital_gain", "NUMERIC"), ("capital_loss", "NUMERIC"),
            ("hours_per_week", "NUMERIC"), ("native_country", "CATEGORICAL"),
            ("income", "BINARY")]],
    "excludedAttributeNames": ["fnlwgt"]})

RECIPE = json.dumps({
    "groups": {"NUM_TO_BIN": "group(age, hours_per_week, education_num)",
               "MONEY": "group(capital_gain, capital_loss)"},
    "assignments": {"edu_x_occ": "cartesian(education, occupation)",
                    "sex_x_marital": "cartesian(sex, marital_status)"},
    "outputs": ["ALL_CATEGORICAL", "quantile_bin(NUM_TO_BIN, 10)", "normalize(MONEY)",
                "edu_x_occ", "sex_x_marital"]})

FOUNDING = "22, Local-gov, 108435, Masters, 14, Married-civ-spouse, Prof-specialty, Husband, White, Male, 0, 0, 80, United-States"
NAMES = [a["attributeName"] for a in json.loads(SCHEMA)["attributes"]]


def step(msg):
    print("--", msg, flush=True)


def expect_error(name, fn, *args, **kwargs):
    """Calls fn, which must raise the named error; returns its message."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        assert code == name, "%s: got %s (%s), want %s" % (fn.__name__, code, e.response["Error"].get("Message"), name)
        exc = getattr(ml.exceptions, name, None)
        if exc is not None:
            assert isinstance(e, exc), "%s is not client.exceptions.%s" % (type(e), name)
        return e.response["Error"]["Message"]
    raise AssertionError("%s: no error, want %s" % (fn.__name__, name))


def read(s3url):
    """The object at an s3:// URL, as the server's object store has it."""
    assert s3url.startswith("s3://"), s3url
    if OBJECTS:
        with open(os.path.join(OBJECTS, s3url[len("s3://"):]), "rb") as f:
            return f.read()
    bucket, key = s3url[len("s3://"):].split("/", 1)
    s3 = boto3.client("s3", endpoint_url=S3_ENDPOINT, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test",
                      config=Config(s3={"addressing_style": "path"}))
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def datasources():
    step("datasources: a 70/30 random split and its complement")
    split = {"percentBegin": 0, "percentEnd": 70, "strategy": "random",
             "randomSeed": "s3://bucket/adult/train.csv"}
    comp = {"percentBegin": 0, "percentEnd": 70, "strategy": "random",
            "strategyParams": {"randomSeed": "s3://bucket/adult/train.csv"}, "complement": "true"}
    for id_, rearr, stats in [("ds-adult-train", split, True), ("ds-adult-eval", comp, False)]:
        spec = {"DataLocationS3": "s3://bucket/adult/train.csv", "DataSchema": SCHEMA,
                "DataRearrangement": json.dumps({"splitting": rearr})}
        out = ml.create_data_source_from_s3(DataSourceId=id_, DataSourceName=id_, DataSpec=spec, ComputeStatistics=stats)
        assert out["DataSourceId"] == id_, out
        # The same call again is a success, as in AML.
        ml.create_data_source_from_s3(DataSourceId=id_, DataSourceName=id_, DataSpec=spec, ComputeStatistics=stats)
    expect_error("IdempotentParameterMismatchException", ml.create_data_source_from_s3,
                 DataSourceId="ds-adult-train", DataSourceName="ds-adult-train",
                 DataSpec={"DataLocationS3": "s3://bucket/adult/train.csv", "DataSchema": SCHEMA},
                 ComputeStatistics=True)
    for id_ in ("ds-adult-train", "ds-adult-eval"):
        ml.get_waiter("data_source_available").wait(FilterVariable="Name", EQ=id_, WaiterConfig=FAST)
    got = ml.get_data_source(DataSourceId="ds-adult-train", Verbose=True)
    assert got["Status"] == "COMPLETED" and got["ComputeStatistics"] is True, got
    assert got["DataLocationS3"] == "s3://bucket/adult/train.csv", got["DataLocationS3"]
    assert json.loads(got["DataSourceSchema"])["targetAttributeName"] == "income"
    assert isinstance(got["CreatedAt"], datetime.datetime), got["CreatedAt"]
    assert got["DataSizeInBytes"] > 0 and got["NumberOfFiles"] == 1, got
    expect_error("InvalidInputException", ml.create_data_source_from_s3, DataSourceId="bad id!",
                 DataSpec={"DataLocationS3": "s3://bucket/adult/train.csv", "DataSchema": SCHEMA})
    expect_error("InvalidInputException", ml.create_data_source_from_s3, DataSourceId="ds-missing",
                 DataSpec={"DataLocationS3": "s3://bucket/adult/missing.csv", "DataSchema": SCHEMA})
    if S3_ENDPOINT:  # the server reaches its own bucket only
        msg = expect_error("InvalidInputException", ml.create_data_source_from_s3, DataSourceId="ds-other",
                           DataSpec={"DataLocationS3": "s3://other/adult/train.csv", "DataSchema": SCHEMA})
        assert "s3://bucket" in msg, msg
    msg = expect_error("InvalidInputException", ml.create_data_source_from_rds, DataSourceId="ds-rds",
                       RDSData={"DatabaseInformation": {"InstanceIdentifier": "db", "DatabaseName": "adult"},
                                "SelectSqlQuery": "select * from adult",
                                "DatabaseCredentials": {"Username": "u", "Password": "password1"},
                                "S3StagingLocation": "s3://bucket/staging/", "ResourceRole": "r", "ServiceRole": "s",
                                "SubnetId": "subnet-1", "SecurityGroupIds": ["sg-1"]},
                       RoleARN="arn:aws:iam::123456789012:role/ml")
    assert "CreateDataSourceFromS3" in msg, msg


def model():
    step("a BINARY model with a recipe")
    params = {"sgd.maxPasses": PASSES, "sgd.shuffleType": "auto", "sgd.l2RegularizationAmount": "1e-6"}
    ml.create_ml_model(MLModelId="ml-adult", MLModelName="ml-adult", MLModelType="BINARY",
                       TrainingDataSourceId="ds-adult-train", Recipe=RECIPE, Parameters=params)
    expect_error("IdempotentParameterMismatchException", ml.create_ml_model, MLModelId="ml-adult",
                 MLModelName="ml-adult", MLModelType="REGRESSION", TrainingDataSourceId="ds-adult-train")
    ml.get_waiter("ml_model_available").wait(FilterVariable="Name", EQ="ml-adult", WaiterConfig=FAST)
    m = ml.get_ml_model(MLModelId="ml-adult", Verbose=True)
    assert m["Status"] == "COMPLETED" and m["MLModelType"] == "BINARY", m
    assert m["Recipe"] == RECIPE and json.loads(m["Schema"])["targetAttributeName"] == "income", m
    assert m["TrainingParameters"]["sgd.maxPasses"] == PASSES, m["TrainingParameters"]
    assert m["InputDataLocationS3"] == "s3://bucket/adult/train.csv", m
    assert m["EndpointInfo"]["EndpointStatus"] == "NONE", m["EndpointInfo"]
    assert m["SizeInBytes"] > 0 and m["ScoreThreshold"] == 0.5, m
    listed = ml.describe_ml_models(FilterVariable="TrainingDataSourceId", EQ="ds-adult-train")["Results"]
    assert [r["MLModelId"] for r in listed] == ["ml-adult"] and listed[0]["Algorithm"] == "sgd", listed


def evaluation():
    step("an evaluation on the complement")
    ml.create_evaluation(EvaluationId="ev-adult", EvaluationName="ev-adult", MLModelId="ml-adult",
                         EvaluationDataSourceId="ds-adult-eval")
    ml.get_waiter("evaluation_available").wait(FilterVariable="MLModelId", EQ="ml-adult", WaiterConfig=FAST)
    ev = ml.get_evaluation(EvaluationId="ev-adult")
    auc = float(ev["PerformanceMetrics"]["Properties"]["BinaryAUC"])
    print("BinaryAUC", auc)
    assert 0.85 < auc <= 1, auc
    assert ev["InputDataLocationS3"] == "s3://bucket/adult/train.csv", ev


def realtime():
    step("a threshold, an endpoint and the founding record")
    record = dict(zip(NAMES, [v.strip() for v in FOUNDING.split(",")]))
    expect_error("PredictorNotMountedException", ml.predict, MLModelId="ml-adult", Record=record, PredictEndpoint=URL)
    ml.update_ml_model(MLModelId="ml-adult", ScoreThreshold=0.5)
    out = ml.create_realtime_endpoint(MLModelId="ml-adult")
    assert out["MLModelId"] == "ml-adult", out
    while True:  # AML has no waiter for endpoints
        info = ml.get_ml_model(MLModelId="ml-adult")["EndpointInfo"]
        if info["EndpointStatus"] == "READY":
            break
        assert info["EndpointStatus"] == "UPDATING", info
        time.sleep(0.5)
    assert info["PeakRequestsPerSecond"] == 200, info
    p = ml.predict(MLModelId="ml-adult", Record=record, PredictEndpoint=info["EndpointUrl"])["Prediction"]
    print("founding record", p)
    assert p["details"] == {"PredictiveModelType": "BINARY", "Algorithm": "SGD"}, p
    assert p["predictedLabel"] == "0" and list(p["predictedScores"]) == ["0"], p
    score = p["predictedScores"]["0"]
    assert 0 <= score < 0.5 and "predictedValue" not in p, p
    ml.update_ml_model(MLModelId="ml-adult", ScoreThreshold=score / 2)
    assert ml.get_ml_model(MLModelId="ml-adult")["ScoreThreshold"] == score / 2
    p = ml.predict(MLModelId="ml-adult", Record=record, PredictEndpoint=info["EndpointUrl"])["Prediction"]
    assert p["predictedLabel"] == "1" and p["predictedScores"] == {"1": score}, p
    ml.update_ml_model(MLModelId="ml-adult", ScoreThreshold=0.5)
    expect_error("ResourceNotFoundException", ml.predict, MLModelId="ml-none", Record=record, PredictEndpoint=URL)


def least_privilege():
    step("an access key pair allowed only Predict on one model")
    import urllib.request
    with open(os.environ["PERCH_ROOT_KEY_FILE"]) as f:
        root = f.read().strip()
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "machinelearning:Predict", "Resource": "arn:aws:machinelearning:*:*:mlmodel/ml-adult"}]}
    req = urllib.request.Request(URL + "/v1/keys", method="POST",
                                 data=json.dumps({"name": "app", "aws": True, "policy": policy}).encode(),
                                 headers={"Authorization": "Bearer " + root, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        made = json.load(r)
    app = boto3.client("machinelearning", region_name="us-east-1", endpoint_url=URL,
                       aws_access_key_id=made["accessKeyId"], aws_secret_access_key=made["secretAccessKey"])
    record = dict(zip(NAMES, [v.strip() for v in FOUNDING.split(",")]))
    p = app.predict(MLModelId="ml-adult", Record=record, PredictEndpoint=URL)["Prediction"]
    assert p["predictedLabel"] in ("0", "1"), p
    msg = expect_error("AccessDeniedException", app.delete_ml_model, MLModelId="ml-adult")
    assert "machinelearning:DeleteMLModel" in msg and "mlmodel/ml-adult" in msg, msg
    expect_error("AccessDeniedException", app.update_ml_model, MLModelId="ml-adult", ScoreThreshold=0.9)
    expect_error("AccessDeniedException", app.describe_ml_models)
    expect_error("AccessDeniedException", app.create_data_source_from_s3, DataSourceId="ds-app",
                 DataSpec={"DataLocationS3": "s3://bucket/adult/train.csv", "DataSchema": SCHEMA})
    m = ml.get_ml_model(MLModelId="ml-adult")
    assert m["Status"] == "COMPLETED" and m["ScoreThreshold"] == 0.5, m


def batch():
    step("a batch prediction read back from its manifest")
    ml.create_batch_prediction(BatchPredictionId="bp-adult", BatchPredictionName="bp-adult", MLModelId="ml-adult",
                               BatchPredictionDataSourceId="ds-adult-eval", OutputUri="s3://bucket/out/")
    ml.get_waiter("batch_prediction_available").wait(FilterVariable="Name", EQ="bp-adult", WaiterConfig=FAST)
    bp = ml.get_batch_prediction(BatchPredictionId="bp-adult")
    assert bp["OutputUri"] == "s3://bucket/out/", bp
    manifest = json.loads(read("s3://bucket/out/batch-prediction/bp-adult.manifest"))
    assert list(manifest) == ["s3://bucket/adult/train.csv"], manifest
    result = manifest["s3://bucket/adult/train.csv"]
    assert result.startswith("s3://bucket/out/batch-prediction/result/") and result.endswith(".gz"), result
    lines = gzip.decompress(read(result)).decode().splitlines()
    assert lines[0].startswith("bestAnswer,score"), lines[0]
    assert len(lines) - 1 == bp["TotalRecordCount"], (len(lines), bp)
    evald = ml.get_data_source(DataSourceId="ds-adult-eval")
    print("batch rows", bp["TotalRecordCount"], "invalid", bp["InvalidRecordCount"])
    # The complement holds about 30% of the 32,561 rows.
    assert 0.25 * 32561 < bp["TotalRecordCount"] < 0.35 * 32561, bp["TotalRecordCount"]
    assert evald["Status"] == "COMPLETED"


def who_and_where():
    step("who created what, from where: CreatedByIamUser, InputDataLocationS3, LogUri and their filters")
    root = "arn:aws:iam::000000000000:root"
    m = ml.get_ml_model(MLModelId="ml-adult")
    assert m["CreatedByIamUser"] == root, m
    assert m["LogUri"].startswith("http") and m["LogUri"].endswith("/v1/models/ml-adult"), m["LogUri"]
    # realtime() set the threshold; botocore reads the time as a datetime.
    at = m["ScoreThresholdLastUpdatedAt"]
    assert isinstance(at, datetime.datetime) and m["CreatedAt"] <= at <= m["LastUpdatedAt"], m
    for op, kw, key, want in [
        (ml.describe_data_sources, {"FilterVariable": "IAMUser", "EQ": root}, "DataSourceId", "ds-adult-train"),
        (ml.describe_ml_models, {"FilterVariable": "IAMUser", "Prefix": "arn:aws:iam::000000000000:"}, "MLModelId", "ml-adult"),
        (ml.describe_ml_models, {"FilterVariable": "TrainingDataURI", "EQ": "s3://bucket/adult/train.csv"}, "MLModelId", "ml-adult"),
        (ml.describe_evaluations, {"FilterVariable": "DataURI", "Prefix": "s3://bucket/adult/"}, "EvaluationId", "ev-adult"),
        (ml.describe_batch_predictions, {"FilterVariable": "DataURI", "EQ": "s3://bucket/adult/train.csv"}, "BatchPredictionId", "bp-adult"),
        (ml.describe_batch_predictions, {"FilterVariable": "IAMUser", "EQ": root}, "BatchPredictionId", "bp-adult"),
    ]:
        results = op(**kw)["Results"]
        assert want in [r[key] for r in results], (kw, results)
        assert all(r["CreatedByIamUser"] == root for r in results), results
    # Several comparators at once: a range of creation times.
    d = ml.get_data_source(DataSourceId="ds-adult-train")
    created = d["CreatedAt"].timestamp()
    results = ml.describe_data_sources(FilterVariable="CreatedAt", GE="%.3f" % created, LT="%.3f" % (created + 0.001))["Results"]
    assert "ds-adult-train" in [r["DataSourceId"] for r in results], results
    assert all(r["CreatedAt"] == d["CreatedAt"] for r in results), results
    assert ml.describe_data_sources(FilterVariable="Name", GE="adult", LT="adult")["Results"] == []


WINE_COLUMNS = ["fixed_acidity", "volatile_acidity", "citric_acid", "residual_sugar", "chlorides",
                "free_sulfur_dioxide", "total_sulfur_dioxide", "density", "pH", "sulphates", "alcohol"]
WINE_ROWS = 6497


def wine_schema(quality_type):
    attrs = [{"attributeName": n, "attributeType": "NUMERIC"} for n in WINE_COLUMNS]
    attrs += [{"attributeName": "color", "attributeType": "CATEGORICAL"},
              {"attributeName": "quality", "attributeType": quality_type}]
    return json.dumps({"version": "1.0", "targetAttributeName": "quality", "dataFormat": "CSV",
                       "dataFileContainsHeader": True, "attributes": attrs, "excludedAttributeNames": []})


def wine():
    step("MULTICLASS (quality as a category) and REGRESSION on wine quality")
    params = {"sgd.maxPasses": PASSES}
    for typ, qtype in [("MULTICLASS", "CATEGORICAL"), ("REGRESSION", "NUMERIC")]:
        name = "wine-" + typ.lower()
        ml.create_data_source_from_s3(DataSourceId="ds-" + name, DataSourceName="ds-" + name, ComputeStatistics=True,
                                      DataSpec={"DataLocationS3": "s3://bucket/wine/wine.csv", "DataSchema": wine_schema(qtype)})
        ml.create_ml_model(MLModelId="ml-" + name, MLModelName="ml-" + name, MLModelType=typ,
                           TrainingDataSourceId="ds-" + name, Parameters=params)
        ml.create_evaluation(EvaluationId="ev-" + name, EvaluationName="ev-" + name, MLModelId="ml-" + name,
                             EvaluationDataSourceId="ds-" + name)
    ml.get_waiter("data_source_available").wait(FilterVariable="Name", Prefix="ds-wine-", WaiterConfig=FAST)
    ml.get_waiter("ml_model_available").wait(FilterVariable="Name", Prefix="ml-wine-", WaiterConfig=FAST)
    ml.get_waiter("evaluation_available").wait(FilterVariable="Name", Prefix="ev-wine-", WaiterConfig=FAST)
    f1 = float(ml.get_evaluation(EvaluationId="ev-wine-multiclass")["PerformanceMetrics"]["Properties"]["MulticlassAvgFScore"])
    rmse = float(ml.get_evaluation(EvaluationId="ev-wine-regression")["PerformanceMetrics"]["Properties"]["RegressionRMSE"])
    print("MulticlassAvgFScore", f1, "RegressionRMSE", rmse)
    assert 0 < f1 <= 1 and 0 < rmse < 1.5, (f1, rmse)
    record = dict(zip(WINE_COLUMNS + ["color"],
                      "7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,red".split(",")))
    for name in ("wine-multiclass", "wine-regression"):
        ml.create_realtime_endpoint(MLModelId="ml-" + name)
    url = ml.get_ml_model(MLModelId="ml-wine-multiclass")["EndpointInfo"]["EndpointUrl"]
    p = ml.predict(MLModelId="ml-wine-multiclass", Record=record, PredictEndpoint=url)["Prediction"]
    print("multiclass", p)
    assert p["details"] == {"PredictiveModelType": "MULTICLASS", "Algorithm": "SGD"}, p
    scores = p["predictedScores"]
    assert set(scores) == {"3", "4", "5", "6", "7", "8", "9"} and abs(sum(scores.values()) - 1) < 1e-4, scores
    assert p["predictedLabel"] == max(scores, key=scores.get) and "predictedValue" not in p, p
    p = ml.predict(MLModelId="ml-wine-regression", Record=record, PredictEndpoint=url)["Prediction"]
    print("regression", p)
    assert p["details"] == {"PredictiveModelType": "REGRESSION", "Algorithm": "SGD"}, p
    assert 3 <= p["predictedValue"] <= 9 and "predictedLabel" not in p and not p.get("predictedScores"), p


def cross_validation():
    step("4-fold cross-validation over one file with complement")
    for k in range(4):
        fold = {"percentBegin": 25 * k, "percentEnd": 25 * (k + 1)}
        spec = {"DataLocationS3": "s3://bucket/wine/wine.csv", "DataSchema": wine_schema("NUMERIC")}
        ml.create_data_source_from_s3(DataSourceId="ds-cv-train-%d" % k, DataSourceName="ds-cv-train-%d" % k,
                                      ComputeStatistics=True,
                                      DataSpec=dict(spec, DataRearrangement=json.dumps({"splitting": dict(fold, complement="true")})))
        ml.create_data_source_from_s3(DataSourceId="ds-cv-eval-%d" % k, DataSourceName="ds-cv-eval-%d" % k,
                                      DataSpec=dict(spec, DataRearrangement=json.dumps({"splitting": fold})))
        ml.create_ml_model(MLModelId="ml-cv-%d" % k, MLModelName="ml-cv-%d" % k, MLModelType="REGRESSION",
                           TrainingDataSourceId="ds-cv-train-%d" % k, Parameters={"sgd.maxPasses": PASSES})
        ml.create_evaluation(EvaluationId="ev-cv-%d" % k, EvaluationName="ev-cv-%d" % k, MLModelId="ml-cv-%d" % k,
                             EvaluationDataSourceId="ds-cv-eval-%d" % k)
        # A batch prediction counts the records of the evaluation fold.
        ml.create_batch_prediction(BatchPredictionId="bp-cv-%d" % k, BatchPredictionName="bp-cv-%d" % k,
                                   MLModelId="ml-cv-%d" % k, BatchPredictionDataSourceId="ds-cv-eval-%d" % k,
                                   OutputUri="s3://bucket/cv/%d/" % k)
    ml.get_waiter("evaluation_available").wait(FilterVariable="Name", Prefix="ev-cv-", WaiterConfig=FAST)
    ml.get_waiter("batch_prediction_available").wait(FilterVariable="Name", Prefix="bp-cv-", WaiterConfig=FAST)
    counts = [ml.get_batch_prediction(BatchPredictionId="bp-cv-%d" % k)["TotalRecordCount"] for k in range(4)]
    rmses = [float(ml.get_evaluation(EvaluationId="ev-cv-%d" % k)["PerformanceMetrics"]["Properties"]["RegressionRMSE"]) for k in range(4)]
    print("folds", counts, "RegressionRMSE", rmses)
    assert sum(counts) == WINE_ROWS and all(abs(c - WINE_ROWS / 4) <= 1 for c in counts), counts


def paging():
    step("paginators with PageSize")
    for op, key in [("describe_data_sources", "DataSourceId"), ("describe_ml_models", "MLModelId"),
                    ("describe_evaluations", "EvaluationId"), ("describe_batch_predictions", "BatchPredictionId")]:
        ids, pages = [], 0
        for page in ml.get_paginator(op).paginate(FilterVariable="Name", SortOrder="dsc", PaginationConfig={"PageSize": 1}):
            pages += 1
            ids += [r[key] for r in page["Results"]]
        assert len(ids) == len(set(ids)) and pages >= len(ids), (op, ids, pages)
        whole = [r[key] for r in getattr(ml, op)(FilterVariable="Name", SortOrder="dsc", Limit=100)["Results"]]
        assert ids == whole, (op, ids, whole)
    names = [r["Name"] for r in ml.describe_data_sources(FilterVariable="Name", Prefix="ds-adult-", SortOrder="asc")["Results"]]
    assert names == ["ds-adult-eval", "ds-adult-train"], names
    later = ml.describe_data_sources(FilterVariable="CreatedAt", GT="4102444800")["Results"]  # after 2100
    assert later == [], later
    expect_error("InvalidInputException", ml.describe_data_sources, Limit=1000)
    expect_error("InvalidInputException", ml.describe_data_sources, FilterVariable="Bogus", EQ="x")
    expect_error("InvalidInputException", ml.describe_data_sources, SortOrder="desc")


def tags():
    step("tags")
    ml.add_tags(ResourceId="ml-adult", ResourceType="MLModel",
                Tags=[{"Key": "team", "Value": "risk"}, {"Key": "adult"}])
    got = ml.describe_tags(ResourceId="ml-adult", ResourceType="MLModel")
    assert got["Tags"] == [{"Key": "adult"}, {"Key": "team", "Value": "risk"}], got["Tags"]
    ml.add_tags(ResourceId="ml-adult", ResourceType="MLModel", Tags=[{"Key": "team", "Value": "credit"}])
    ml.delete_tags(ResourceId="ml-adult", ResourceType="MLModel", TagKeys=["adult", "absent"])
    got = ml.describe_tags(ResourceId="ml-adult", ResourceType="MLModel")
    assert got["Tags"] == [{"Key": "team", "Value": "credit"}], got["Tags"]
    expect_error("InvalidTagException", ml.add_tags, ResourceId="ml-adult", ResourceType="MLModel",
                 Tags=[{"Key": "bad*key", "Value": "x"}])
    expect_error("TagLimitExceededException", ml.add_tags, ResourceId="ml-adult", ResourceType="MLModel",
                 Tags=[{"Key": "k%d" % i} for i in range(100)])
    expect_error("ResourceNotFoundException", ml.describe_tags, ResourceId="ml-none", ResourceType="MLModel")


def deletes():
    step("updates and deletes")
    ml.update_data_source(DataSourceId="ds-adult-eval", DataSourceName="adult eval")
    ml.update_evaluation(EvaluationId="ev-adult", EvaluationName="adult evaluation")
    ml.update_batch_prediction(BatchPredictionId="bp-adult", BatchPredictionName="adult batch")
    assert ml.get_data_source(DataSourceId="ds-adult-eval")["Name"] == "adult eval"
    out = ml.delete_realtime_endpoint(MLModelId="ml-adult")
    assert out["RealtimeEndpointInfo"]["EndpointStatus"] == "NONE", out
    record = dict(zip(NAMES, [v.strip() for v in FOUNDING.split(",")]))
    expect_error("PredictorNotMountedException", ml.predict, MLModelId="ml-adult", Record=record, PredictEndpoint=URL)
    for fn, kw, get in [
        (ml.delete_batch_prediction, {"BatchPredictionId": "bp-adult"}, ml.get_batch_prediction),
        (ml.delete_evaluation, {"EvaluationId": "ev-adult"}, ml.get_evaluation),
        (ml.delete_ml_model, {"MLModelId": "ml-adult"}, ml.get_ml_model),
        (ml.delete_data_source, {"DataSourceId": "ds-adult-eval"}, ml.get_data_source),
    ]:
        fn(**kw)
        assert get(**kw)["Status"] == "DELETED", (fn.__name__, get(**kw))
    expect_error("ResourceNotFoundException", ml.get_ml_model, MLModelId="ml-none")
    expect_error("ResourceNotFoundException", ml.delete_evaluation, EvaluationId="ev-none")


def signatures():
    step("requests refused: unsigned, wrong secret, stale, tampered body")
    unsigned = boto3.client("machinelearning", region_name="us-east-1", endpoint_url=URL,
                            config=Config(signature_version=UNSIGNED))
    try:
        unsigned.describe_data_sources()
        raise AssertionError("an unsigned request was served")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "MissingAuthenticationTokenException", e.response
    creds = ml._request_signer._credentials
    wrong = boto3.client("machinelearning", region_name="eu-west-1", endpoint_url=URL,
                         aws_access_key_id=creds.access_key, aws_secret_access_key="x" * 40)
    try:
        wrong.describe_data_sources()
        raise AssertionError("a request signed with a wrong secret was served")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidSignatureException", e.response
    unknown = boto3.client("machinelearning", region_name="us-east-1", endpoint_url=URL,
                           aws_access_key_id="PKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x" * 40)
    try:
        unknown.describe_data_sources()
        raise AssertionError("a request signed by an unknown key was served")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "UnrecognizedClientException", e.response

    real = datetime.datetime

    class Stale(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return real.utcnow() - datetime.timedelta(minutes=6)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - datetime.timedelta(minutes=6)

    with mock.patch.object(botocore.auth.datetime, "datetime", Stale):
        try:
            ml.describe_data_sources()
            raise AssertionError("a request signed 6 minutes ago was served")
        except ClientError as e:
            err = e.response["Error"]
            assert err["Code"] == "InvalidSignatureException" and "Signature expired" in err["Message"], err
    ml.describe_data_sources()  # the present signs again

    tampered = boto3.client("machinelearning", region_name="us-east-1", endpoint_url=URL)

    def tamper(request, **kwargs):
        request.body = request.body.replace(b"ml-adult", b"ml-other")
    tampered.meta.events.register("before-send.machinelearning.GetMLModel", tamper)
    try:
        tampered.get_ml_model(MLModelId="ml-adult")
        raise AssertionError("a request whose body changed after signing was served")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidSignatureException", e.response


def main():
    print("boto3", boto3.__version__, "botocore", botocore.__version__)
    signatures()
    datasources()
    model()
    evaluation()
    realtime()
    least_privilege()
    batch()
    who_and_where()
    wine()
    cross_validation()
    paging()
    tags()
    deletes()
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        sys.exit(1)
