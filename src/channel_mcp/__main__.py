from channel_mcp.cli import main

main()
