from tfwheelbuild.cli import main

main()
