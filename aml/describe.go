package aml

import (
	"context"
	"strings"

	"github.com/perchml/perch"
)

// describeInput is the input of the four Describe operations.
type describeInput struct {
	FilterVariable string
	EQ             *string
	GT             *string
	LT             *string
	GE             *string
	LE             *string
	NE             *string
	Prefix         *string
	SortOrder      string
	NextToken      string
	Limit          *int
}

// The FilterVariable values of each kind.
var (
	dataSourceVars      = []string{"CreatedAt", "LastUpdatedAt", "Status", "Name", "DataLocationS3", "IAMUser"}
	mlModelVars         = []string{"CreatedAt", "LastUpdatedAt", "Status", "Name", "IAMUser", "TrainingDataSourceId", "RealtimeEndpointStatus", "MLModelType", "Algorithm", "TrainingDataURI"}
	evaluationVars      = []string{"CreatedAt", "LastUpdatedAt", "Status", "Name", "IAMUser", "MLModelId", "DataSourceId", "DataURI"}
	batchPredictionVars = evaluationVars
)

// locationVars are the variables whose values are s3:// locations, kept
// in the store's own form.
var locationVars = map[string]bool{"DataLocationS3": true, "TrainingDataURI": true, "DataURI": true}

// filter checks a Describe input and makes the service's filter of it.
func (h *handler) filter(in *describeInput, vars []string) (perch.Filter, error) {
	var c checks
	c.enum("FilterVariable", in.FilterVariable, vars...)
	c.enum("SortOrder", in.SortOrder, "asc", "dsc")
	if in.Limit != nil && (*in.Limit < 1 || *in.Limit > perch.MaxPageLimit) {
		c.fail("Limit %d: want 1 to %d", *in.Limit, perch.MaxPageLimit)
	}
	f := perch.Filter{Variable: in.FilterVariable, Desc: in.SortOrder == "dsc", PageToken: in.NextToken}
	if in.Limit != nil {
		f.Limit = *in.Limit
	}
	var cmps []perch.Comparison
	for _, cmp := range []struct {
		op perch.FilterOp
		v  *string
	}{
		{perch.OpEQ, in.EQ}, {perch.OpGT, in.GT}, {perch.OpLT, in.LT}, {perch.OpGE, in.GE},
		{perch.OpLE, in.LE}, {perch.OpNE, in.NE}, {perch.OpPrefix, in.Prefix},
	} {
		if cmp.v == nil {
			continue
		}
		c.length(string(cmp.op), *cmp.v, 0, 1024)
		if !nonBlankPattern.MatchString(*cmp.v) {
			c.fail("%s: only spaces", cmp.op)
		}
		cmps = append(cmps, perch.Comparison{Op: cmp.op, Value: *cmp.v})
	}
	if len(cmps) > 0 && in.FilterVariable == "" {
		c.fail("FilterVariable: required with a comparator")
	}
	if c.err != nil {
		return f, c.err
	}
	for i := range cmps {
		if locationVars[f.Variable] {
			v := cmps[i].Value
			if cmps[i].Op != perch.OpPrefix {
				v = strings.TrimSuffix(v, "/") // a folder is kept without it
			}
			cmps[i].Value = h.svc.StoredURLPrefix(v)
		}
	}
	// Several comparators all apply (GE and LE give a range).
	if len(cmps) > 0 {
		f.Op, f.Value, f.And = cmps[0].Op, cmps[0].Value, cmps[1:]
	}
	return f, nil
}

type page[T any] struct {
	Results   []T    `json:"Results"`
	NextToken string `json:"NextToken,omitempty"`
}

func describeDataSources(ctx context.Context, h *handler, in *describeInput) (any, error) {
	f, err := h.filter(in, dataSourceVars)
	if err != nil {
		return nil, err
	}
	list, next, err := h.svc.ListDataSources(ctx, f)
	if err != nil {
		return nil, err
	}
	p := &page[*dataSourceOut]{Results: []*dataSourceOut{}, NextToken: next}
	for _, d := range list {
		p.Results = append(p.Results, h.dataSource(d, false))
	}
	return p, nil
}

func describeMLModels(ctx context.Context, h *handler, in *describeInput) (any, error) {
	f, err := h.filter(in, mlModelVars)
	if err != nil {
		return nil, err
	}
	list, next, err := h.svc.ListMLModels(ctx, f)
	if err != nil {
		return nil, err
	}
	loc := h.locations()
	p := &page[*mlModelOut]{Results: []*mlModelOut{}, NextToken: next}
	for _, m := range list {
		p.Results = append(p.Results, h.mlModel(ctx, m, loc))
	}
	return p, nil
}

func describeEvaluations(ctx context.Context, h *handler, in *describeInput) (any, error) {
	f, err := h.filter(in, evaluationVars)
	if err != nil {
		return nil, err
	}
	list, next, err := h.svc.ListEvaluations(ctx, f)
	if err != nil {
		return nil, err
	}
	loc := h.locations()
	p := &page[*evaluationOut]{Results: []*evaluationOut{}, NextToken: next}
	for _, e := range list {
		p.Results = append(p.Results, h.evaluation(ctx, e, loc))
	}
	return p, nil
}

func describeBatchPredictions(ctx context.Context, h *handler, in *describeInput) (any, error) {
	f, err := h.filter(in, batchPredictionVars)
	if err != nil {
		return nil, err
	}
	list, next, err := h.svc.ListBatchPredictions(ctx, f)
	if err != nil {
		return nil, err
	}
	loc := h.locations()
	p := &page[*batchPredictionOut]{Results: []*batchPredictionOut{}, NextToken: next}
	for _, b := range list {
		p.Results = append(p.Results, h.batchPrediction(ctx, b, loc))
	}
	return p, nil
}
