module github.com/perchml/perch

go 1.26.8
