module github.com/google/seesaw

go 1.12
