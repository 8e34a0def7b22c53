module github.com/goptim/goptim

go 1.24
