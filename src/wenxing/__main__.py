from wenxing.cli import main

main()
